//! The request-side stages, in the one place that orders them. A request passes, in turn:
//! the catalog (a tool or prompt whose definition is not approved, as its server now shows it,
//! does not exist for agents), rate limits (before any other work is spent on a flood), the external guardrails' word on the
//! arguments (first, so everything after sees the arguments the server will get), authorization
//! (policy, and a human's approval later), validation of what a call carries (size limits, the
//! tool's `inputSchema`), egress control of the URLs among its arguments (SSRF), and content
//! inspection of the arguments (secrets, injection). What passes all of them is [`Authorized`]; approval
//! (`Session::clear`) and dispatch come after.

use std::sync::Arc;

use moat_proto::Request;

use super::{Authorized, Refused, Session};
use crate::auth::Caller;

impl Session {
    /// Runs every request-side stage on `req`; the first that refuses answers it.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        req: Request,
        caller: Caller,
    ) -> Result<Authorized, Refused> {
        let mut req = req;
        let mut op = self.operation(&req).await;
        self.check_catalog(&req, op.as_ref()).await?;
        self.rate_limit(&req, op.as_ref(), &caller).await?;
        self.judge_arguments(&mut req, op.as_mut()).await?;
        let authorized = self.authorize(req, op, caller).await?;
        self.validate(&authorized).await?;
        self.check_egress(&authorized).await?;
        self.inspect_arguments(&authorized).await?;
        Ok(authorized)
    }
}
