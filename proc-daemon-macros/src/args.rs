//! Parsing shared by both attributes: key/value arguments with every error collected, spanned
//! at the offending key or value.

use std::time::Duration;

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{LitBool, LitInt, LitStr, Path};

/// Collects the errors of one attribute so they are all reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) const fn has_errors(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Declares the keys of one attribute in one table, which drives everything about them: the
/// `Key` enum the parser matches exhaustively, the list of valid keys in the "unknown key"
/// error, the "did you mean" suggestion, and the documentation of the macro (`$docs!()` expands
/// to one Markdown line per key, for `#[doc = ...]` in `lib.rs`).
macro_rules! key_table {
    (
        $attribute:literal, docs: $docs:ident;
        $($variant:ident = $name:literal: $doc:literal,)+
    ) => {
        /// A key of the attribute.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Key {
            $(#[doc = $doc] $variant,)+
        }

        /// The attribute's keys by name, in the order the documentation lists them.
        pub(crate) const KEYS: crate::args::KeyTable<Key> = crate::args::KeyTable {
            attribute: $attribute,
            keys: &[$(($name, Key::$variant)),+],
        };

        /// One Markdown line per key: `- `name`: what it takes and does`.
        macro_rules! $docs {
            () => {
                concat!($("- `", $name, "`: ", $doc, "\n",)+)
            };
        }
        pub(crate) use $docs;
    };
}
pub(crate) use key_table;

/// The keys of one attribute, by name.
pub(crate) struct KeyTable<K: 'static> {
    pub(crate) attribute: &'static str,
    pub(crate) keys: &'static [(&'static str, K)],
}

impl<K: Copy> KeyTable<K> {
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.keys.iter().map(|(name, _)| *name)
    }

    fn find(&self, name: &str) -> Option<K> {
        self.keys
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, key)| *key)
    }
}

/// The valid name closest to `unknown`, if it is close enough to be what was meant: a few
/// letters off, or one name inside the other (`config_file` for `config`).
pub(crate) fn closest<'a>(unknown: &str, valid: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    valid
        .map(|name| (strsim::levenshtein(unknown, name), name))
        .filter(|&(distance, name)| {
            distance <= (name.len().max(unknown.len()) / 3).max(2)
                || (name.len() >= 4 && (unknown.contains(name) || name.contains(unknown)))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, name)| name)
}

/// The keys of one attribute as they are parsed: rejects duplicates and unknown keys (listing
/// the valid ones, suggesting the closest).
pub(crate) struct Keys<K: 'static> {
    table: KeyTable<K>,
    seen: Vec<String>,
}

impl<K: Copy> Keys<K> {
    pub(crate) const fn new(table: KeyTable<K>) -> Self {
        Self {
            table,
            seen: Vec::new(),
        }
    }

    /// The key of `meta`, once it is known to be valid and new.
    pub(crate) fn key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<K> {
        let name = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| meta.error(self.unknown("this", None)))?;
        let Some(key) = self.table.find(&name) else {
            let suggestion = closest(&name, self.table.names());
            return Err(meta.error(self.unknown(&format!("`{name}`"), suggestion)));
        };
        if self.seen.contains(&name) {
            return Err(meta.error(format!("duplicate `{name}` in #[{}]", self.table.attribute)));
        }
        self.seen.push(name);
        Ok(key)
    }

    fn unknown(&self, what: &str, suggestion: Option<&str>) -> String {
        let valid: Vec<String> = self.table.names().map(|k| format!("`{k}`")).collect();
        let hint = suggestion.map_or_else(String::new, |name| format!("did you mean `{name}`? "));
        format!(
            "unknown key {what} in #[{}]; {hint}valid keys are {}",
            self.table.attribute,
            valid.join(", ")
        )
    }
}

/// A string attribute value that names one of a fixed set of choices.
pub(crate) fn choice<T: Copy>(
    meta: &ParseNestedMeta<'_>,
    what: &str,
    choices: &[(&'static str, T)],
) -> syn::Result<(T, Span)> {
    let value = string(meta)?;
    let text = value.value();
    if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == text) {
        return Ok((*choice, value.span()));
    }
    let valid: Vec<String> = choices
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    let hint = closest(&text, choices.iter().map(|(name, _)| *name))
        .map_or_else(String::new, |name| format!("did you mean {name:?}? "));
    Err(syn::Error::new(
        value.span(),
        format!(
            "unknown {what} {text:?}; {hint}valid values are {}",
            valid.join(", ")
        ),
    ))
}

/// The key's name, for messages.
fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| "this key".to_owned(), |ident| format!("`{ident}`"))
}

/// Replaces syn's generic "expected ... literal" with one that names the key and shows an
/// example.
fn expecting(meta: &ParseNestedMeta<'_>, example: &str) -> impl FnOnce(syn::Error) -> syn::Error {
    let message = format!("{} takes {example}", key_name(meta));
    move |error| syn::Error::new(error.span(), message)
}

/// `key = "string"`.
pub(crate) fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let key = meta
        .path
        .get_ident()
        .map_or_else(String::new, ToString::to_string);
    meta.value()?
        .parse()
        .map_err(expecting(meta, &format!("a string: {key} = \"...\"")))
}

/// `key = true` / `key = false`, or a bare `key` meaning `true`.
pub(crate) fn boolean(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) {
        let value: LitBool = meta
            .value()?
            .parse()
            .map_err(expecting(meta, "`true` or `false`"))?;
        Ok(value.value)
    } else {
        Ok(true)
    }
}

/// `key = [path, ...]`: a non-empty list of paths; `shape` is the example a malformed list is
/// told to look like, `what` names one item (`` `#[subsystem]` function ``).
pub(crate) fn path_list(
    meta: &ParseNestedMeta<'_>,
    shape: &str,
    what: &str,
) -> syn::Result<Vec<Path>> {
    let key = key_name(meta);
    let value = meta.value()?;
    let content;
    let brackets = syn::bracketed!(content in value);
    // Taken whole first, so a bad entry gives one error, not a second one for the tokens left
    // behind.
    let tokens: proc_macro2::TokenStream = content.parse()?;
    let list = syn::parse::Parser::parse2(
        syn::punctuated::Punctuated::<Path, syn::Token![,]>::parse_terminated,
        tokens,
    )
    .map_err(|err| {
        syn::Error::new(
            err.span(),
            format!("{key} lists {what}s by path, like `{shape}`"),
        )
    })?;
    if list.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            format!("{key} is empty; list at least one {what} or leave the key out"),
        ));
    }
    Ok(list.into_iter().collect())
}

/// `key = 123`.
pub(crate) fn integer<T: std::str::FromStr>(meta: &ParseNestedMeta<'_>) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    let value: LitInt = meta
        .value()?
        .parse()
        .map_err(expecting(meta, "an integer, like 5"))?;
    value.base10_parse()
}

/// `key = "250ms"`: a non-zero duration in humantime syntax, checked now.
pub(crate) fn duration(meta: &ParseNestedMeta<'_>) -> syn::Result<(Duration, Span)> {
    let text = string(meta)?;
    let parsed = humantime::parse_duration(&text.value()).map_err(|err| {
        syn::Error::new(
            text.span(),
            format!(
                "invalid duration {:?}: {err}; write it like \"250ms\", \"5s\", \"2m\" or \"1h\"",
                text.value()
            ),
        )
    })?;
    if parsed.is_zero() {
        return Err(syn::Error::new(
            text.span(),
            "the duration must be greater than zero",
        ));
    }
    Ok((parsed, text.span()))
}

/// `key = "path::to::crate"`.
pub(crate) fn crate_path(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let text = string(meta)?;
    text.parse::<Path>().map_err(|_| {
        syn::Error::new(
            text.span(),
            format!(
                "`crate` must be a path to the proc-daemon crate, like \"proc_daemon\" or \"::my_reexport::proc_daemon\"; got {:?}",
                text.value()
            ),
        )
    })
}

/// The duration as the most readable constructor: `from_secs(5)`, `from_millis(250)`, or
/// `from_nanos(..)`.
pub(crate) fn duration_tokens(krate: &Path, duration: Duration) -> proc_macro2::TokenStream {
    // Durations in attributes are far below u64::MAX nanoseconds (584 years).
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let (constructor, amount) = if nanos % 1_000_000_000 == 0 {
        ("from_secs", nanos / 1_000_000_000)
    } else if nanos % 1_000_000 == 0 {
        ("from_millis", nanos / 1_000_000)
    } else {
        ("from_nanos", nanos)
    };
    let constructor = proc_macro2::Ident::new(constructor, Span::call_site());
    let amount = proc_macro2::Literal::u64_unsuffixed(amount);
    quote::quote!(#krate::__private::Duration::#constructor(#amount))
}

/// The runtime crate's path: `::proc_daemon` unless `crate = "..."` says otherwise.
pub(crate) fn default_crate() -> Path {
    syn::parse_quote!(::proc_daemon)
}

/// After a bad value: skips to the next `,` so the remaining keys are still checked.
pub(crate) fn skip_value(input: syn::parse::ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(syn::Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// Parses `key = value, ...` with `handle(key, meta)` for each valid, new key. Every error is
/// collected (a bad value is skipped so the keys after it are still checked).
pub(crate) fn parse_keys<K: Copy>(
    args: proc_macro2::TokenStream,
    table: KeyTable<K>,
    errors: &mut Errors,
    mut handle: impl FnMut(K, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let mut keys = Keys::new(table);
    let parser = syn::meta::parser(|meta| {
        if let Err(error) = keys.key(&meta).and_then(|key| handle(key, &meta)) {
            errors.push(error);
            skip_value(meta.input)?;
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error);
    }
}

/// Parses the item the attribute is on as a function; otherwise the item, unchanged, with
/// `message` and the attribute's other errors.
pub(crate) fn function_or_errors(
    item: proc_macro2::TokenStream,
    message: &str,
    mut errors: Errors,
) -> Result<(syn::ItemFn, Errors), proc_macro2::TokenStream> {
    match syn::parse2(item.clone()) {
        Ok(function) => Ok((function, errors)),
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |token| token.span());
            errors.push(syn::Error::new(span, message));
            Err(with_errors(item, errors))
        }
    }
}

/// The item, unchanged, followed by the errors: IDEs keep seeing the user's code and no
/// follow-on errors appear.
pub(crate) fn with_errors(
    item: proc_macro2::TokenStream,
    errors: Errors,
) -> proc_macro2::TokenStream {
    let errors = errors
        .into_result()
        .err()
        .map(|error| error.to_compile_error());
    quote::quote!(#item #errors)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggestions_are_for_near_misses_only() {
        let keys = ["config", "name", "subsystems", "env_prefix", "cli", "crate"];
        assert_eq!(closest("config_file", keys.into_iter()), Some("config"));
        assert_eq!(closest("subsystem", keys.into_iter()), Some("subsystems"));
        assert_eq!(closest("envprefix", keys.into_iter()), Some("env_prefix"));
        assert_eq!(closest("colour", keys.into_iter()), None);
        let policies = ["never", "always", "on_failure", "exponential_backoff"];
        assert_eq!(
            closest("on-failure", policies.into_iter()),
            Some("on_failure")
        );
        assert_eq!(closest("sometimes", policies.into_iter()), None);
    }

    #[test]
    fn the_documentation_lists_every_key_of_the_table() {
        for (docs, table) in [
            (
                crate::subsystem::subsystem_key_docs!(),
                crate::subsystem::KEYS
                    .keys
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>(),
            ),
            (
                crate::daemon::daemon_key_docs!(),
                crate::daemon::KEYS
                    .keys
                    .iter()
                    .map(|(name, _)| *name)
                    .collect(),
            ),
        ] {
            let listed: Vec<&str> = docs
                .lines()
                .map(|line| line.split('`').nth(1).unwrap())
                .collect();
            assert_eq!(listed, table);
        }
    }
}
