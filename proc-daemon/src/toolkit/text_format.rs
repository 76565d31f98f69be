//! The rules of Prometheus text format 0.0.4 that both renderers — the daemon's own series and
//! an application's `MetricsCollector` — follow: label escaping and the `# HELP`/`# TYPE`
//! header of a family.

use std::fmt::Write as _;

/// A label value as the text format requires: `\`, `"` and newlines escaped.
pub(crate) fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `# HELP` and `# TYPE` lines of the family `name` (help text: `\` and newlines escaped).
pub(crate) fn write_family(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut out = String::new();
        write_family(&mut out, "x_total", "counter", "two\nlines \\ here");
        assert_eq!(
            out,
            "# HELP x_total two\\nlines \\\\ here\n# TYPE x_total counter\n"
        );
    }
}
