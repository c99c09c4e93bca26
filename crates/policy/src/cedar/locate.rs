//! Cedar's diagnostics as `file:line: message`.

use miette::Diagnostic;

use super::CedarError;

/// The first labelled place of `diagnostic` in `text`, as a line, with its message (and the
/// label's own text, which often says what was expected).
pub(super) fn located(
    file: &str,
    text: &str,
    diagnostic: &(impl Diagnostic + ?Sized),
    what: &str,
) -> CedarError {
    let label = diagnostic.labels().and_then(|mut l| l.next());
    let line = label
        .as_ref()
        .map(|l| text.get(..l.offset()).unwrap_or(text).matches('\n').count() + 1);
    let mut message = format!("{what}: {diagnostic}");
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" ({help})"));
    }
    CedarError {
        file: file.to_owned(),
        line,
        message,
    }
}
