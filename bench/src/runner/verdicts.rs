//! The targets, judged on what the run measured. "Full governance" is judged on
//! `moat-auth`, moat with every stage that exists so far (only bearer-token validation today:
//! authorization, rate limits, schema validation, PII scanning and audit are later issues), so its
//! verdicts say so; pass-through figures are judged beside them.

use super::extras::{IdleReport, PayloadReport};
use super::report::{ConfigReport, PhaseReport, Verdict};

const MB: f64 = 1024.0 * 1024.0;
const GOVERNED: &str = "moat-auth: every stage built so far (JWT validation only)";

/// Judges every target.
pub fn judge(
    configs: &[ConfigReport],
    idle: Option<&IdleReport>,
    payloads: &[PayloadReport],
) -> Vec<Verdict> {
    let find = |n: &str| configs.iter().find(|c| c.name == n);
    let (direct, moat, governed) = (find("direct"), find("moat"), find("moat-auth"));
    let mut v = Vec::new();
    for (what, limit, pick) in [
        (
            "p50",
            150.0,
            (|a: &super::report::Added| a.p50_us) as fn(&super::report::Added) -> f64,
        ),
        ("p99", 1000.0, |a: &super::report::Added| a.p99_us),
    ] {
        let target = format!(
            "added latency at 1,000 req/s, {what} ≤ {} ms",
            limit / 1000.0
        );
        for (on, c) in [(GOVERNED, governed), ("pass-through", moat)] {
            let got = at_1000(c)
                .and_then(|p| p.added_vs_direct.as_ref())
                .map(pick);
            v.push(check(
                &target,
                on,
                got.map(|g| (g, format!("{:.3} ms", g / 1000.0))),
                |g| g <= limit,
            ));
        }
    }
    let cpu = |p: Option<&PhaseReport>| {
        p.and_then(|p| p.moat_cpu_us)
            .map(|c| (c, format!("{c:.1} µs")))
    };
    for (limit, on, c) in [(25.0, "pass-through", moat), (60.0, GOVERNED, governed)] {
        let target = format!("moat CPU per tools/call ≤ {limit} µs");
        v.push(check(
            &target,
            &format!("{on}, at saturation"),
            cpu(c.map(|c| &c.saturation)),
            |x| x <= limit,
        ));
        v.push(check(
            &target,
            &format!("{on}, at 1,000 req/s"),
            cpu(at_1000(c)),
            |x| x <= limit,
        ));
    }
    for (on, c) in [(GOVERNED, governed), ("pass-through", moat)] {
        let ratio = c.zip(direct).map(|(m, d)| {
            let r = m.saturation.throughput / d.saturation.throughput.max(1e-9);
            (r, format!("{r:.2}× direct"))
        });
        v.push(check(
            "saturation throughput ≥ 0.6× direct",
            on,
            ratio,
            |r| r >= 0.6,
        ));
    }
    if let Some(i) = idle {
        let mb = i.rss_idle as f64 / MB;
        v.push(check(
            "idle RSS ≤ 25 MB",
            "pass-through",
            Some((mb, format!("{mb:.1} MB"))),
            |m| m <= 25.0,
        ));
        let added = (i.rss_with_sessions as f64 - i.rss_idle as f64) / MB;
        let target = format!("{} idle sessions add ≤ 100 MB", i.sessions);
        v.push(check(
            &target,
            "pass-through",
            Some((added, format!("{added:.1} MB"))),
            |m| m <= 100.0,
        ));
    }
    for p in payloads {
        let above = p.moat_rss_peak.saturating_sub(p.moat_rss_before) as f64;
        let x = above / p.size.max(1) as f64;
        let target = format!(
            "{} MB result buffered ≤ about 2× its size",
            p.size as f64 / MB
        );
        let on = format!("pass-through, upstream answers {}", p.upstream_framing);
        let measured = format!("peak +{:.1} MB = {x:.1}×", above / MB);
        let got = if p.error.is_some() {
            None
        } else {
            Some((x, measured))
        };
        v.push(check(&target, &on, got, |x| x <= 2.0));
    }
    v
}

fn at_1000(c: Option<&ConfigReport>) -> Option<&PhaseReport> {
    c.and_then(|c| c.rates.iter().find(|p| p.rate == Some(1000.0)))
}

fn check(target: &str, on: &str, got: Option<(f64, String)>, ok: impl Fn(f64) -> bool) -> Verdict {
    let (measured, verdict) = match got {
        Some((x, shown)) => (shown, if ok(x) { "met" } else { "missed" }),
        None => ("—".into(), "not measured in this run"),
    };
    Verdict {
        target: target.to_owned(),
        on: on.to_owned(),
        measured,
        verdict: verdict.into(),
    }
}
