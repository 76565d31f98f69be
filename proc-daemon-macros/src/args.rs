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

/// The keys of one attribute: rejects duplicates and unknown keys (listing the valid ones).
pub(crate) struct Keys {
    attribute: &'static str,
    valid: &'static [&'static str],
    seen: Vec<String>,
}

impl Keys {
    pub(crate) const fn new(attribute: &'static str, valid: &'static [&'static str]) -> Self {
        Self {
            attribute,
            valid,
            seen: Vec::new(),
        }
    }

    /// The key of `meta`, once it is known to be valid and new.
    pub(crate) fn key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<String> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| meta.error(self.unknown("this")))?;
        if !self.valid.contains(&key.as_str()) {
            return Err(meta.error(self.unknown(&format!("`{key}`"))));
        }
        if self.seen.contains(&key) {
            return Err(meta.error(format!("duplicate `{key}` in #[{}]", self.attribute)));
        }
        self.seen.push(key.clone());
        Ok(key)
    }

    fn unknown(&self, what: &str) -> String {
        let valid: Vec<String> = self.valid.iter().map(|k| format!("`{k}`")).collect();
        format!(
            "unknown key {what} in #[{}]; valid keys are {}",
            self.attribute,
            valid.join(", ")
        )
    }
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
pub(crate) fn parse_keys(
    args: proc_macro2::TokenStream,
    keys: &mut Keys,
    errors: &mut Errors,
    mut handle: impl FnMut(&str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let parser = syn::meta::parser(|meta| {
        if let Err(error) = keys.key(&meta).and_then(|key| handle(&key, &meta)) {
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
