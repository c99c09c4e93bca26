//! The `limits:` section: how much one call may carry and how often a caller may call.

use std::num::NonZeroU32;
use std::time::Duration;

use moat_guard::ArgumentLimits;
use moat_ratelimit::Limit;

use crate::error::ConfigError;
use crate::raw::{RawLimits, RawRate};

/// Validated limits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LimitsConfig {
    /// Bounds on every call's arguments.
    pub arguments: ArgumentLimits,
    /// Rate limits and quotas, in the order written (a call counts against each in turn).
    pub rates: Vec<RateRule>,
}

/// What a rate limit's key is made of: calls with the same values share one budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    Agent,
    User,
    Server,
    Tool,
}

impl KeyPart {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "agent" => Self::Agent,
            "user" => Self::User,
            "server" => Self::Server,
            "tool" => Self::Tool,
            _ => return None,
        })
    }
}

/// One named rate limit or quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    /// Its name: the rule id in refusals, events and metrics.
    pub name: String,
    pub per: Vec<KeyPart>,
    pub limit: Limit,
    /// `server/tool` patterns of the tool calls it counts; empty: every request.
    pub tools: Vec<String>,
}

impl LimitsConfig {
    pub(crate) fn from_raw(raw: RawLimits) -> Result<Self, ConfigError> {
        let defaults = ArgumentLimits::default();
        let args = raw.arguments.unwrap_or_default();
        let positive = |v: Option<u64>, field: &str, default: usize| match v {
            None => Ok(default),
            Some(0) => Err(ConfigError::new(field, "must be greater than 0")),
            Some(n) => usize::try_from(n).map_err(|_| ConfigError::new(field, "too large")),
        };
        let arguments = ArgumentLimits {
            max_depth: positive(
                args.max_depth,
                "limits.arguments.max_depth",
                defaults.max_depth,
            )?,
            max_string_bytes: positive(
                args.max_string_bytes,
                "limits.arguments.max_string_bytes",
                defaults.max_string_bytes,
            )?,
            max_arguments: positive(
                args.max_arguments,
                "limits.arguments.max_arguments",
                defaults.max_arguments,
            )?,
        };
        let rates = raw
            .rates
            .into_iter()
            .map(|(name, rate)| RateRule::from_raw(name, rate))
            .collect::<Result<_, _>>()?;
        Ok(Self { arguments, rates })
    }
}

impl RateRule {
    fn from_raw(name: String, raw: RawRate) -> Result<Self, ConfigError> {
        let at = |field: &str| format!("limits.rates.{name}.{field}");
        let per = match raw.per {
            None => vec![KeyPart::Agent],
            Some(words) if words.is_empty() => {
                return Err(ConfigError::new(
                    at("per"),
                    "name at least one of agent, user, server, tool",
                ));
            }
            Some(words) => words
                .iter()
                .map(|w| {
                    KeyPart::parse(w).ok_or_else(|| {
                        ConfigError::new(
                            at("per"),
                            format!("{w:?} is not one of agent, user, server, tool"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let (count, period) = parse_rate(&raw.rate).ok_or_else(|| {
            ConfigError::new(
                at("rate"),
                format!(
                    "{:?} is not a rate such as 20/s, 600/min, 1000/h or 10000/day",
                    raw.rate
                ),
            )
        })?;
        let burst = match raw.burst {
            None => count,
            Some(b) => NonZeroU32::new(b)
                .ok_or_else(|| ConfigError::new(at("burst"), "must be greater than 0"))?,
        };
        let limit = Limit {
            count,
            period,
            burst,
        };
        if period.checked_div(count.get()).is_none_or(|p| p.is_zero()) {
            return Err(ConfigError::new(
                at("rate"),
                "more calls than nanoseconds in the period",
            ));
        }
        let tools = raw.tools.unwrap_or_default();
        if let Some(bad) = tools.iter().find(|t| !t.contains('/')) {
            return Err(ConfigError::new(
                at("tools"),
                format!(
                    "{bad:?} is not a server/tool pattern (use server/* for every tool of a server)"
                ),
            ));
        }
        Ok(Self {
            name,
            per,
            limit,
            tools,
        })
    }
}

/// `count/unit`: `20/s`, `600/min`, `1000/h`, `10000/day`.
pub(crate) fn parse_rate(text: &str) -> Option<(NonZeroU32, Duration)> {
    let (count, unit) = text.trim().split_once('/')?;
    let count = NonZeroU32::new(count.trim().parse().ok()?)?;
    let secs = match unit.trim() {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => 86_400,
        _ => return None,
    };
    Some((count, Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn rates_parse_with_their_units() {
        assert_eq!(
            parse_rate("20/s"),
            Some((NonZeroU32::new(20).unwrap(), Duration::from_secs(1)))
        );
        assert_eq!(
            parse_rate("10000/day").unwrap().1,
            Duration::from_secs(86_400)
        );
        for bad in ["0/s", "20", "20/fortnight", "-1/s", "x/s"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_limits_section_is_validated_with_its_line() {
        let yaml = "limits:\n  arguments:\n    max_depth: 8\n  rates:\n    calls:\n      per: [agent, tool]\n      rate: 5/s\n      burst: 10\n      tools: [\"files/*\"]\n    daily:\n      rate: 100/day\n";
        let c = Config::from_yaml(yaml, "m.yaml").unwrap();
        assert_eq!(c.limits.arguments.max_depth, 8);
        assert_eq!(c.limits.arguments.max_string_bytes, 1024 * 1024);
        assert_eq!(c.limits.rates.len(), 2);
        assert_eq!(c.limits.rates[0].per, [KeyPart::Agent, KeyPart::Tool]);
        assert_eq!(c.limits.rates[0].limit.burst.get(), 10);
        assert_eq!(
            c.limits.rates[1].limit.burst.get(),
            100,
            "burst defaults to the count"
        );
        assert_eq!(c.limits.rates[1].per, [KeyPart::Agent]);

        let bad = "limits:\n  rates:\n    calls:\n      rate: 5 per second\n";
        let e = Config::from_yaml(bad, "m.yaml").unwrap_err().to_string();
        assert!(
            e.contains("m.yaml:4") && e.contains("limits.rates.calls.rate"),
            "{e}"
        );
        let bad = "limits:\n  rates:\n    calls:\n      per: [team]\n      rate: 5/s\n";
        let e = Config::from_yaml(bad, "m.yaml").unwrap_err().to_string();
        assert!(e.contains("\"team\" is not one of"), "{e}");
        let bad = "limits:\n  arguments:\n    max_depth: 0\n";
        let e = Config::from_yaml(bad, "m.yaml").unwrap_err().to_string();
        assert!(
            e.contains("m.yaml:3") && e.contains("greater than 0"),
            "{e}"
        );
        let bad = "limits:\n  rates:\n    calls:\n      rate: 5/s\n      tools: [search]\n";
        let e = Config::from_yaml(bad, "m.yaml").unwrap_err().to_string();
        assert!(e.contains("server/tool pattern"), "{e}");
    }
}
