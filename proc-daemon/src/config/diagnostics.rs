//! TOML errors as users need them: `file:line:column: key.path: problem`, in TOML's words
//! rather than Rust's, with a "did you mean" for a misspelt key.

/// `origin:line:column: key.path: message`, plus a "did you mean" for a misspelt key.
pub(crate) fn describe_toml_error(origin: &str, text: &str, err: &toml::de::Error) -> String {
    let mut out = origin.to_owned();
    if let Some(span) = err.span() {
        let (line, column) = line_column(text, span.start);
        out.push_str(&format!(":{line}:{column}"));
    }
    if let Some(keys) = key_path(err) {
        out.push_str(": ");
        out.push_str(&keys);
    }
    out.push_str(": ");
    out.push_str(&plain_types(err.message()));
    if let Some(suggestion) = suggest_field(err.message()) {
        out.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    out
}

/// serde names Rust types ("expected u64", "expected struct ShutdownConfig"); users wrote TOML,
/// so name TOML's.
fn plain_types(message: &str) -> String {
    let mut text = ["u64", "u32", "usize", "u16", "u8"]
        .iter()
        .fold(message.to_owned(), |text, ty| {
            text.replace(&format!("expected {ty}"), "expected a non-negative integer")
        });
    if let Some(at) = text.find("expected struct ") {
        text.truncate(at);
        text.push_str("expected a table");
    }
    text.replace("expected a map", "expected a table")
        .replace("expected path string", "expected a path string")
}

/// The dotted key an error is about. `toml` prints it only when it has no input to quote, so
/// ask it for that rendering.
pub(crate) fn key_path(err: &toml::de::Error) -> Option<String> {
    let mut bare = err.clone();
    bare.set_input(None);
    let rendered = bare.to_string();
    let line = rendered.lines().find_map(|l| l.strip_prefix("in `"))?;
    Some(line.trim_end_matches('`').to_owned())
}

/// Where the dotted `key` is written in `text`: its value's line and column, or as much of the
/// path as the file has (a missing field is reported at its table). `None` when the file does
/// not write even the first key, or does not parse.
pub(crate) fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut found = None;
    for segment in key.split('.') {
        let Some((_, value)) = table.iter().find(|(name, _)| name.get_ref() == segment) else {
            break;
        };
        found = Some(value.span());
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    found.map(|span| line_column(text, span.start))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the closest valid name.
fn suggest_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| (strsim::levenshtein(unknown, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= candidate.len().max(unknown.len()) / 3 + 1)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_where_they_are_written() {
        let text = "[app]\nport = 1\n[app.db]\nurl = \"x\"\n";
        assert_eq!(locate_key(text, "app.port"), Some((2, 8)));
        assert_eq!(locate_key(text, "app.db.url"), Some((4, 7)));
        assert_eq!(
            locate_key(text, "app.db.missing"),
            locate_key(text, "app.db")
        );
        assert_eq!(locate_key(text, "nothing"), None);
        assert_eq!(locate_key("[app", "app"), None);
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            suggest_field("unknown field `zzzzzz`, expected `name`"),
            None
        );
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
