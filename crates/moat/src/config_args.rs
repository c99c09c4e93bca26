//! The configuration as the command line assembles it: a file (or the bundled default) plus
//! overrides, validated by the same code as the file alone.

use std::path::Path;

use moat_config::raw::{RawFederation, RawUpstream};
use moat_config::{BUNDLED_DEFAULT, BUNDLED_NAME, Config, ConfigError};

/// Command-line settings that take precedence over the file.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) listen: Option<String>,
    pub(crate) upstreams: Vec<String>,
    pub(crate) prefix: Option<String>,
}

const CLI: &str = "<command line>";

pub(crate) fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let (text, file) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                cli_error(&p.display().to_string(), "", format!("cannot read: {e}"))
            })?;
            (text, p.display().to_string())
        }
        // Quick mode: upstreams given on the command line replace the bundled demo.
        None if !overrides.upstreams.is_empty() => (String::new(), CLI.to_owned()),
        None => (BUNDLED_DEFAULT.to_owned(), BUNDLED_NAME.to_owned()),
    };
    let mut raw = Config::parse_raw(&text, &file)?;
    if let Some(listen) = &overrides.listen {
        raw.listen = Some(listen.clone());
    }
    if let Some(prefix) = &overrides.prefix {
        raw.federation
            .get_or_insert_with(RawFederation::default)
            .prefix = Some(prefix.clone());
    }
    for spec in &overrides.upstreams {
        let (name, spec) = spec
            .split_once('=')
            .ok_or_else(|| cli_error(CLI, "--upstream", format!("{spec:?} is not NAME=SPEC")))?;
        let up = RawUpstream::from_cli(spec)
            .map_err(|m| cli_error(CLI, &format!("--upstream {name}"), m))?;
        raw.upstreams.insert(name.to_owned(), up);
    }
    Config::from_raw(raw).map_err(|e| Config::locate(e, &text, &file))
}

fn cli_error(file: &str, field: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_owned(),
        line: None,
        field: field.to_owned(),
        message,
    }
}
