//! `#[subsystem]`: turns a function into a value implementing `proc_daemon::Subsystem`.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Path};

use crate::args::{self, Errors, Keys, with_errors};
use crate::signature::{self, Parameter, Returns};

const KEYS: &[&str] = &[
    "name",
    "restart",
    "initial_delay",
    "max_delay",
    "max_restarts",
    "within",
    "health",
    "health_interval",
    "shutdown_timeout",
    "critical",
    "blocking",
    "holds_readiness",
    "crate",
];

const POLICIES: &[&str] = &["never", "always", "on_failure", "exponential_backoff"];

#[derive(Default)]
struct Options {
    krate: Option<Path>,
    name: Option<LitStr>,
    restart: Option<(String, Span)>,
    initial_delay: Option<(Duration, Span)>,
    max_delay: Option<(Duration, Span)>,
    max_restarts: Option<u32>,
    within: Option<(Duration, Span)>,
    health: Option<Path>,
    health_interval: Option<(Duration, Span)>,
    shutdown_timeout: Option<(Duration, Span)>,
    critical: Option<bool>,
    blocking: bool,
    holds_readiness: Option<Span>,
}

fn parse_options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let mut keys = Keys::new("subsystem", KEYS);
    args::parse_keys(args, &mut keys, errors, |key, meta| match key {
        "name" => {
            options.name = Some(args::string(meta)?);
            Ok(())
        }
        "restart" => {
            let value = args::string(meta)?;
            if !POLICIES.contains(&value.value().as_str()) {
                return Err(syn::Error::new(
                    value.span(),
                    format!(
                        "unknown restart policy {:?}; valid values are \"never\", \"always\", \"on_failure\", \"exponential_backoff\"",
                        value.value()
                    ),
                ));
            }
            options.restart = Some((value.value(), value.span()));
            Ok(())
        }
        "initial_delay" => {
            options.initial_delay = Some(args::duration(meta)?);
            Ok(())
        }
        "max_delay" => {
            options.max_delay = Some(args::duration(meta)?);
            Ok(())
        }
        "max_restarts" => {
            options.max_restarts = Some(args::integer(meta)?);
            Ok(())
        }
        "within" => {
            options.within = Some(args::duration(meta)?);
            Ok(())
        }
        "health" => {
            options.health = Some(meta.value()?.parse()?);
            Ok(())
        }
        "health_interval" => {
            options.health_interval = Some(args::duration(meta)?);
            Ok(())
        }
        "shutdown_timeout" => {
            options.shutdown_timeout = Some(args::duration(meta)?);
            Ok(())
        }
        "critical" => {
            options.critical = Some(args::boolean(meta)?);
            Ok(())
        }
        "blocking" => {
            options.blocking = args::boolean(meta)?;
            Ok(())
        }
        "holds_readiness" => {
            if args::boolean(meta)? {
                options.holds_readiness = Some(meta.path.span());
            }
            Ok(())
        }
        "crate" => {
            options.krate = Some(args::crate_path(meta)?);
            Ok(())
        }
        _ => unreachable!("every valid key is handled"),
    });
    let backoff = options
        .restart
        .as_ref()
        .is_some_and(|(p, _)| p == "exponential_backoff");
    for (key, value) in [
        ("initial_delay", &options.initial_delay),
        ("max_delay", &options.max_delay),
    ] {
        if let (Some((_, span)), false) = (value, backoff) {
            errors.push(syn::Error::new(
                *span,
                format!("`{key}` only applies to restart = \"exponential_backoff\""),
            ));
        }
    }
    if let (Some((initial, span)), Some((max, _))) = (options.initial_delay, options.max_delay)
        && initial > max
    {
        errors.push(syn::Error::new(
            span,
            "`initial_delay` must not be longer than `max_delay`",
        ));
    }
    options
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(args, &mut errors);
    let (function, mut errors) = match args::function_or_errors(
        item,
        "#[subsystem] goes on an `async fn` (or on a plain `fn` with `blocking`)",
        errors,
    ) {
        Ok(parsed) => parsed,
        Err(output) => return output,
    };
    let signature = &function.sig;
    match (signature.asyncness.is_some(), options.blocking) {
        (false, false) => errors.push(syn::Error::new(
            signature.fn_token.span(),
            "a subsystem must be an `async fn`, or a plain `fn` marked `blocking`",
        )),
        (true, true) => errors.push(syn::Error::new(
            signature.asyncness.span(),
            "`blocking` runs a plain `fn` on its own thread; remove `async` or `blocking`",
        )),
        _ => {}
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new(
            signature.generics.span(),
            "a subsystem function cannot be generic",
        ));
    }
    let parameters = signature::subsystem_parameters(signature, &mut errors);
    let returns = signature::returns(signature, "a subsystem", &mut errors);
    if let Some(span) = options.holds_readiness
        && !parameters.contains(&Parameter::Context)
    {
        errors.push(syn::Error::new(
            span,
            "`holds_readiness` needs a `Context` parameter, to call `context.ready()` when set-up is done",
        ));
    }
    if errors.has_errors() {
        return with_errors(quote!(#function), errors);
    }

    let krate = options.krate.clone().unwrap_or_else(args::default_crate);
    let ident = &signature.ident;
    let vis = &function.vis;
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    let handle = format_ident!("__proc_daemon_shutdown");
    let context = format_ident!("__proc_daemon_context");
    let arguments: Vec<_> = parameters
        .iter()
        .map(|parameter| match parameter {
            Parameter::Shutdown => &handle,
            Parameter::Context => &context,
        })
        .collect();
    let call = if options.blocking {
        quote!(#krate::__private::run_blocking(move || #ident(#(#arguments),*)).await)
    } else {
        quote!(#ident(#(#arguments),*).await)
    };
    let convert = signature::error_conversion(&krate, &format_ident!("__proc_daemon_error"));
    let body = match returns {
        Returns::Unit => quote! {
            #call;
            ::core::result::Result::Ok(())
        },
        Returns::Result => quote! {
            match #call {
                ::core::result::Result::Ok(()) => ::core::result::Result::Ok(()),
                ::core::result::Result::Err(__proc_daemon_error) => ::core::result::Result::Err(#convert),
            }
        },
    };
    let methods = option_methods(&options, &krate);
    let run = if parameters.contains(&Parameter::Context) {
        quote! {
            fn run(&self, #handle: #krate::__private::ShutdownHandle) -> #krate::__private::RunFuture {
                #krate::__private::Subsystem::run_with_context(self, #krate::__private::detached_context(#handle))
            }

            fn run_with_context(&self, #context: #krate::__private::Context) -> #krate::__private::RunFuture {
                let #handle = #context.shutdown().clone();
                #krate::__private::Box::pin(async move { #body })
            }
        }
    } else {
        quote! {
            fn run(&self, #handle: #krate::__private::ShutdownHandle) -> #krate::__private::RunFuture {
                #krate::__private::Box::pin(async move { #body })
            }
        }
    };
    let doc = format!("The [`{ident}`](fn@{ident}) subsystem, as a value: `{ident} {{}}`.");
    quote! {
        #function

        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident {}

        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic)]
        impl #krate::__private::Subsystem for #ident {
            #run

            fn name(&self) -> &str {
                #name
            }

            #(#methods)*
        }
    }
}

fn option_methods(options: &Options, krate: &Path) -> Vec<TokenStream> {
    let mut methods = Vec::new();
    let duration = |d: Duration| args::duration_tokens(krate, d);
    if let Some((policy, _)) = &options.restart {
        let policy = match policy.as_str() {
            "never" => quote!(#krate::__private::RestartPolicy::Never),
            "always" => quote!(#krate::__private::RestartPolicy::Always),
            "on_failure" => quote!(#krate::__private::RestartPolicy::OnFailure),
            _ => {
                let initial = duration(
                    options
                        .initial_delay
                        .map_or(Duration::from_millis(100), |(d, _)| d),
                );
                let max = duration(
                    options
                        .max_delay
                        .map_or(Duration::from_secs(30), |(d, _)| d),
                );
                quote!(#krate::__private::RestartPolicy::ExponentialBackoff {
                    initial_delay: #initial,
                    max_delay: #max,
                })
            }
        };
        methods.push(quote! {
            fn restart_policy(&self) -> #krate::__private::RestartPolicy {
                #policy
            }
        });
    }
    if options.max_restarts.is_some() || options.within.is_some() {
        let max_restarts = options.max_restarts.map_or_else(
            || quote!(__proc_daemon_default.max_restarts),
            |n| quote!(#n),
        );
        let within = options.within.map_or_else(
            || quote!(__proc_daemon_default.within),
            |(d, _)| duration(d),
        );
        methods.push(quote! {
            fn restart_limit(&self) -> #krate::__private::RestartLimit {
                let __proc_daemon_default = #krate::__private::RestartLimit::default();
                #krate::__private::RestartLimit::new(#max_restarts, #within)
            }
        });
    }
    if options.holds_readiness.is_some() {
        methods.push(quote! {
            fn holds_readiness(&self) -> bool {
                true
            }
        });
    }
    if let Some(critical) = options.critical {
        methods.push(quote! {
            fn critical(&self) -> bool {
                #critical
            }
        });
    }
    if let Some((timeout, _)) = options.shutdown_timeout {
        let timeout = duration(timeout);
        methods.push(quote! {
            fn shutdown_timeout(&self) -> ::core::option::Option<#krate::__private::Duration> {
                ::core::option::Option::Some(#timeout)
            }
        });
    }
    if let Some(path) = &options.health {
        // Spanned at the user's path, so a wrong signature is reported there.
        let check = quote_spanned!(path.span()=> #krate::__private::health_check(#path));
        methods.push(quote! {
            fn health_check(&self) -> ::core::option::Option<#krate::__private::HealthCheck> {
                ::core::option::Option::Some(#check)
            }
        });
    }
    if let Some((interval, _)) = options.health_interval {
        let interval = duration(interval);
        methods.push(quote! {
            fn health_check_interval(&self) -> ::core::option::Option<#krate::__private::Duration> {
                ::core::option::Option::Some(#interval)
            }
        });
    }
    methods
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use quote::quote;

    use crate::snapshot::pretty;

    #[test]
    fn expansion_of_a_health_checked_backoff_subsystem() {
        let expanded = super::expand(
            quote!(
                restart = "exponential_backoff",
                initial_delay = "250ms",
                max_delay = "10s",
                health = queue_ok,
                shutdown_timeout = "3s"
            ),
            quote! {
                pub async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
                    shutdown.cancelled().await;
                    Ok(())
                }
            },
        );
        expect![[r#"
            pub async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
                shutdown.cancelled().await;
                Ok(())
            }
            ///The [`worker`](fn@worker) subsystem, as a value: `worker {}`.
            #[allow(non_camel_case_types)]
            #[derive(Clone, Copy, Debug, Default)]
            pub struct worker {}
            #[automatically_derived]
            #[allow(clippy::all, clippy::pedantic)]
            impl ::proc_daemon::__private::Subsystem for worker {
                fn run(
                    &self,
                    __proc_daemon_shutdown: ::proc_daemon::__private::ShutdownHandle,
                ) -> ::proc_daemon::__private::RunFuture {
                    ::proc_daemon::__private::Box::pin(async move {
                        match worker(__proc_daemon_shutdown).await {
                            ::core::result::Result::Ok(()) => ::core::result::Result::Ok(()),
                            ::core::result::Result::Err(__proc_daemon_error) => {
                                ::core::result::Result::Err({
                                    use ::proc_daemon::__private::{ViaInto as _, ViaStdError as _};
                                    let __proc_daemon_slot = ::proc_daemon::__private::ErrorSlot::new(
                                        __proc_daemon_error,
                                    );
                                    #[allow(clippy::needless_borrow)]
                                    let __proc_daemon_error = (&&__proc_daemon_slot)
                                        .take_daemon_error();
                                    __proc_daemon_error
                                })
                            }
                        }
                    })
                }
                fn name(&self) -> &str {
                    "worker"
                }
                fn restart_policy(&self) -> ::proc_daemon::__private::RestartPolicy {
                    ::proc_daemon::__private::RestartPolicy::ExponentialBackoff {
                        initial_delay: ::proc_daemon::__private::Duration::from_millis(250),
                        max_delay: ::proc_daemon::__private::Duration::from_secs(10),
                    }
                }
                fn shutdown_timeout(
                    &self,
                ) -> ::core::option::Option<::proc_daemon::__private::Duration> {
                    ::core::option::Option::Some(::proc_daemon::__private::Duration::from_secs(3))
                }
                fn health_check(
                    &self,
                ) -> ::core::option::Option<::proc_daemon::__private::HealthCheck> {
                    ::core::option::Option::Some(::proc_daemon::__private::health_check(queue_ok))
                }
            }
        "#]].assert_eq(&pretty(&expanded));
    }

    #[test]
    fn expansion_of_a_blocking_subsystem_with_context() {
        let expanded = super::expand(
            quote!(
                blocking,
                name = "crunch",
                critical = false,
                max_restarts = 3,
                crate = "pd"
            ),
            quote! {
                fn crunch(context: Context) {
                    let _ = context;
                }
            },
        );
        expect![[r#"
            fn crunch(context: Context) {
                let _ = context;
            }
            ///The [`crunch`](fn@crunch) subsystem, as a value: `crunch {}`.
            #[allow(non_camel_case_types)]
            #[derive(Clone, Copy, Debug, Default)]
            struct crunch {}
            #[automatically_derived]
            #[allow(clippy::all, clippy::pedantic)]
            impl pd::__private::Subsystem for crunch {
                fn run(
                    &self,
                    __proc_daemon_shutdown: pd::__private::ShutdownHandle,
                ) -> pd::__private::RunFuture {
                    pd::__private::Subsystem::run_with_context(
                        self,
                        pd::__private::detached_context(__proc_daemon_shutdown),
                    )
                }
                fn run_with_context(
                    &self,
                    __proc_daemon_context: pd::__private::Context,
                ) -> pd::__private::RunFuture {
                    let __proc_daemon_shutdown = __proc_daemon_context.shutdown().clone();
                    pd::__private::Box::pin(async move {
                        pd::__private::run_blocking(move || crunch(__proc_daemon_context)).await;
                        ::core::result::Result::Ok(())
                    })
                }
                fn name(&self) -> &str {
                    "crunch"
                }
                fn restart_limit(&self) -> pd::__private::RestartLimit {
                    let __proc_daemon_default = pd::__private::RestartLimit::default();
                    pd::__private::RestartLimit::new(3u32, __proc_daemon_default.within)
                }
                fn critical(&self) -> bool {
                    false
                }
            }
        "#]]
        .assert_eq(&pretty(&expanded));
    }

    #[test]
    fn on_error_the_function_is_emitted_unchanged() {
        let expanded = super::expand(
            quote!(restart = "sometimes"),
            quote!(
                async fn worker() {}
            ),
        );
        expect![[r#"
            async fn worker() {}
            ::core::compile_error! {
                "unknown restart policy \"sometimes\"; valid values are \"never\", \"always\", \"on_failure\", \"exponential_backoff\""
            }
        "#]].assert_eq(&pretty(&expanded));
    }
}
