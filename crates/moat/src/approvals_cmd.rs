//! `moat approvals …` and `moat consents …`: held tool calls and standing consents, read and
//! decided from the command line. A decision written here reaches every moat on the same store
//! within its queue poll (a quarter of a second).

use anyhow::{Result, bail};
use moat_store::chrono::{TimeDelta, Utc};
use moat_store::{
    Approval, ApprovalId, ApprovalStatus, NewToolConsent, StoreError, ToolConsent, ToolConsentId,
    Verdict,
};

use crate::agents_cmd::open_store;
use crate::cli::{ApprovalsArgs, ApprovalsCommand, ConsentsArgs, ConsentsCommand};

/// The longest standing consent an operator may give.
const MAX_CONSENT: TimeDelta = TimeDelta::days(30);

pub(crate) async fn approvals(args: ApprovalsArgs) -> Result<()> {
    let (_, store) = open_store(args.store.store.as_deref(), args.store.config.as_deref()).await?;
    let approvals = store.approvals();
    let json = args.store.json;
    let decide = |id: String, approve: bool, by: Option<String>, note: Option<String>| {
        let verdict = Verdict {
            approve,
            by: format!("cli:{}", by.unwrap_or_else(login)),
            note,
        };
        (ApprovalId::new(id), verdict)
    };
    let shown = match args.command {
        ApprovalsCommand::List { all, limit } => {
            let status = (!all).then_some(ApprovalStatus::Pending);
            let list = approvals.list(status, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_approvals(&list);
            }
            None
        }
        ApprovalsCommand::Show { id } => Some(approvals.get(&ApprovalId::new(id)).await?),
        ApprovalsCommand::Approve { id, by, note } => {
            let (id, verdict) = decide(id, true, by, note);
            Some(settled(approvals.decide(&id, &verdict).await)?)
        }
        ApprovalsCommand::Deny { id, by, note } => {
            let (id, verdict) = decide(id, false, by, note);
            Some(settled(approvals.decide(&id, &verdict).await)?)
        }
    };
    if let Some(approval) = shown {
        if json {
            println!("{}", serde_json::to_string_pretty(&approval)?);
        } else {
            print_approvals(std::slice::from_ref(&approval));
            println!(
                "arguments (sha256 {}): {}",
                approval.arguments_sha256, approval.arguments
            );
            println!(
                "held because: {} [{}]",
                approval.reason,
                approval.rules.join(", ")
            );
        }
    }
    store.close().await;
    Ok(())
}

/// A decision that came too late says what happened instead.
fn settled(result: Result<Approval, StoreError>) -> Result<Approval> {
    match result {
        Err(StoreError::Conflict { key, .. }) => bail!("cannot decide: approval {key}"),
        other => Ok(other?),
    }
}

pub(crate) async fn consents(args: ConsentsArgs) -> Result<()> {
    let (_, store) = open_store(args.store.store.as_deref(), args.store.config.as_deref()).await?;
    let consents = store.tool_consents();
    let list = match args.command {
        ConsentsCommand::List => consents.active(Utc::now()).await?,
        ConsentsCommand::Grant {
            agent,
            user,
            tool,
            duration,
            by,
        } => {
            let Some((server, tool)) = tool.split_once('/') else {
                bail!("--tool {tool:?}: expected SERVER/TOOL");
            };
            let lasts = humantime::parse_duration(&duration)
                .map_err(|e| anyhow::anyhow!("--for {duration:?}: {e}"))?;
            let lasts = TimeDelta::from_std(lasts).unwrap_or(TimeDelta::MAX);
            if lasts <= TimeDelta::zero() || lasts > MAX_CONSENT {
                bail!("--for must be more than 0s and at most 30d");
            }
            let consent = NewToolConsent {
                agent,
                subject: user,
                server: server.to_owned(),
                tool: tool.to_owned(),
                granted_by: format!("cli:{}", by.unwrap_or_else(login)),
                expires_at: Utc::now() + lasts,
            };
            vec![consents.grant(&consent).await?]
        }
        ConsentsCommand::Revoke { id } => {
            consents.revoke(&ToolConsentId::new(id.clone())).await?;
            eprintln!("revoked {id}");
            Vec::new()
        }
    };
    if args.store.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_consents(&list);
    }
    store.close().await;
    Ok(())
}

/// Who runs the command, for the record.
pub(crate) fn login() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into())
}

fn print_approvals(list: &[Approval]) {
    println!(
        "{:<32} {:<9} {:<11} {:<20} {:<12} {:<28} REQUESTED",
        "ID", "STATUS", "CHANNEL", "AGENT", "USER", "TOOL"
    );
    for a in list {
        println!(
            "{:<32} {:<9} {:<11} {:<20} {:<12} {:<28} {}",
            a.id.to_string(),
            a.status.as_str(),
            format!("{:?}", a.channel).to_lowercase(),
            a.agent,
            a.subject.as_deref().unwrap_or("-"),
            format!("{}/{}", a.server, a.tool),
            a.requested_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
}

fn print_consents(list: &[ToolConsent]) {
    println!(
        "{:<32} {:<20} {:<12} {:<28} {:<16} UNTIL",
        "ID", "AGENT", "USER", "TOOL", "GRANTED BY"
    );
    for c in list {
        println!(
            "{:<32} {:<20} {:<12} {:<28} {:<16} {}",
            c.id.to_string(),
            c.agent,
            c.subject.as_deref().unwrap_or("-"),
            format!("{}/{}", c.server, c.tool),
            c.granted_by,
            c.expires_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
}
