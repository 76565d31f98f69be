//! Attribute macros for [proc-daemon](https://docs.rs/proc-daemon): `#[daemon]` on `main` and
//! `#[subsystem]` on the functions it runs. They generate plain builder code against
//! `proc_daemon::__private` and add no capability of their own; use them through the
//! `proc_daemon` crate, which re-exports them.

mod args;
mod daemon;
mod signature;
mod subsystem;

use proc_macro::TokenStream;

/// Makes an `async fn` (or, with `blocking`, a plain `fn`) a supervised subsystem.
///
/// The function stays as written; a same-named struct `name {}` implements
/// `proc_daemon::Subsystem`. Durations are humantime strings (`"250ms"`, `"5s"`, `"2m"`).
/// Keys:
///
#[doc = subsystem::subsystem_key_docs!()]
#[proc_macro_attribute]
pub fn subsystem(args: TokenStream, item: TokenStream) -> TokenStream {
    subsystem::expand(args.into(), item.into()).into()
}

/// Makes `main` a daemon: signals, configuration, logging, runtime, supervision, exit code.
///
/// The body of `main` runs as set-up before the subsystems start. Keys:
///
#[doc = daemon::daemon_key_docs!()]
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    daemon::expand(args.into(), item.into()).into()
}

/// Renders macro output the way `cargo expand` shows it, for the expansion snapshots.
#[cfg(test)]
mod snapshot {
    pub(crate) fn pretty(tokens: &proc_macro2::TokenStream) -> String {
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            // Error output (`compile_error!` next to the item) is shown as raw tokens.
            Err(_) => tokens.to_string(),
        }
    }
}
