//! `#[subsystem]`: turns a function into a value implementing `proc_daemon::Subsystem`.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Path};

use crate::args::{self, Errors, with_errors};
use crate::signature::{self, Parameter, Returns};

crate::args::key_table! {
    "subsystem", docs: subsystem_key_docs;
    Name = "name": "string; the name in logs, metrics and status. Default: the function's name.",
    Restart = "restart": "`\"never\"`, `\"always\"`, `\"on_failure\"` or `\"exponential_backoff\"`; what happens when a run ends. Default: `\"on_failure\"`.",
    InitialDelay = "initial_delay": "duration, with `exponential_backoff` only; the first restart delay. Default: the runtime's `RestartPolicy::DEFAULT_INITIAL_DELAY` (100 ms).",
    MaxDelay = "max_delay": "duration, with `exponential_backoff` only; the longest restart delay. Default: `RestartPolicy::DEFAULT_MAX_DELAY` (30 s).",
    MaxRestarts = "max_restarts": "integer; more restarts than this within `within` end the subsystem as failed. Default: `RestartLimit::default()` (10).",
    Within = "within": "duration; the window of `max_restarts`. Default: `RestartLimit::default()` (60 s).",
    Health = "health": "path to a `fn() -> bool` or `async fn() -> bool`; the health check. Default: none.",
    HealthInterval = "health_interval": "duration; how often `health` runs. Default: `monitoring.health_check_interval_ms`.",
    ShutdownTimeout = "shutdown_timeout": "duration; this subsystem's stop budget. Default: `shutdown.timeout_ms`.",
    Critical = "critical": "bool; whether its failure shuts the daemon down with exit code 1. Default: `true`.",
    Blocking = "blocking": "flag; runs a plain (non-async) `fn` on its own thread. Default: off.",
    After = "after": "`[path, ...]` of other `#[subsystem]`s; this one starts once each of them is ready and stops before them. Default: none.",
    RestartsWithDependencies = "restarts_with_dependencies": "bool, with `after` only; whether a restart of a dependency restarts this subsystem once the dependency is ready again. Default: `true`.",
    Singleton = "singleton": "flag; with `[cluster]`, runs only on the replica that leads, and is stopped when it stops leading. Default: off, runs on every replica.",
    HoldsReadiness = "holds_readiness": "flag, needs a `Context` parameter; the subsystem is ready only when it calls `context.ready()`. Default: off, ready as soon as a run starts.",
    Crate = "crate": "string path of the runtime crate. Default: `\"proc_daemon\"`.",
}

/// A restart policy, as the attribute names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Never,
    Always,
    OnFailure,
    ExponentialBackoff,
}

const POLICIES: &[(&str, Policy)] = &[
    ("never", Policy::Never),
    ("always", Policy::Always),
    ("on_failure", Policy::OnFailure),
    ("exponential_backoff", Policy::ExponentialBackoff),
];

#[derive(Default)]
struct Options {
    krate: Option<Path>,
    name: Option<LitStr>,
    restart: Option<(Policy, Span)>,
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
    singleton: bool,
    after: Vec<Path>,
    restarts_with_dependencies: Option<(bool, Span)>,
}

fn parse_options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    args::parse_keys(args, KEYS, errors, |key, meta| {
        match key {
            Key::Name => options.name = Some(args::string(meta)?),
            Key::Restart => options.restart = Some(args::choice(meta, "restart policy", POLICIES)?),
            Key::InitialDelay => options.initial_delay = Some(args::duration(meta)?),
            Key::MaxDelay => options.max_delay = Some(args::duration(meta)?),
            Key::MaxRestarts => options.max_restarts = Some(args::integer(meta)?),
            Key::Within => options.within = Some(args::duration(meta)?),
            Key::Health => options.health = Some(meta.value()?.parse()?),
            Key::HealthInterval => options.health_interval = Some(args::duration(meta)?),
            Key::ShutdownTimeout => options.shutdown_timeout = Some(args::duration(meta)?),
            Key::Critical => options.critical = Some(args::boolean(meta)?),
            Key::Blocking => options.blocking = args::boolean(meta)?,
            Key::Singleton => options.singleton = args::boolean(meta)?,
            Key::HoldsReadiness => {
                if args::boolean(meta)? {
                    options.holds_readiness = Some(meta.path.span());
                }
            }
            Key::After => {
                options.after = args::path_list(meta, "after = [db, cache]", "`#[subsystem]`")?;
            }
            Key::RestartsWithDependencies => {
                options.restarts_with_dependencies = Some((args::boolean(meta)?, meta.path.span()));
            }
            Key::Crate => options.krate = Some(args::crate_path(meta)?),
        }
        Ok(())
    });
    let backoff = options
        .restart
        .is_some_and(|(policy, _)| policy == Policy::ExponentialBackoff);
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
    if let (Some((_, span)), true) = (options.restarts_with_dependencies, options.after.is_empty())
    {
        errors.push(syn::Error::new(
            span,
            "`restarts_with_dependencies` only applies to a subsystem with `after = [...]`",
        ));
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
        && !parameters
            .iter()
            .any(|parameter| matches!(parameter, Parameter::Context))
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
        .enumerate()
        .map(|(index, parameter)| match parameter {
            Parameter::Shutdown => handle.clone(),
            Parameter::Context => context.clone(),
            Parameter::State(_) => format_ident!("__proc_daemon_state_{index}"),
        })
        .collect();
    // `State<T>` values are taken from the run's context before the call.
    let states: Vec<_> = parameters
        .iter()
        .zip(&arguments)
        .filter_map(|(parameter, argument)| match parameter {
            Parameter::State(ty) => Some(quote! {
                let #argument = match #krate::__private::state_parameter::<#ty>(&#context, #name) {
                    ::core::result::Result::Ok(__proc_daemon_state) => __proc_daemon_state,
                    ::core::result::Result::Err(__proc_daemon_error) => {
                        return ::core::result::Result::Err(__proc_daemon_error);
                    }
                };
            }),
            _ => None,
        })
        .collect();
    let state_types: Vec<_> = parameters
        .iter()
        .filter_map(|parameter| match parameter {
            Parameter::State(ty) => Some(ty),
            _ => None,
        })
        .collect();
    let call = if options.blocking {
        quote!(#krate::__private::run_blocking(move || #ident(#(#arguments),*)).await)
    } else {
        quote!(#ident(#(#arguments),*).await)
    };
    let convert = signature::error_conversion(
        &krate,
        &format_ident!("__proc_daemon_error"),
        signature::error_type_span(signature),
    );
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
    let mut methods = option_methods(&options, &krate);
    if !state_types.is_empty() || options.health.is_some() {
        let health_needs = options
            .health
            .as_ref()
            .map(|_| quote!(__proc_daemon_needs.extend(Self::__proc_daemon_health().needs());));
        methods.push(quote! {
            fn required_state(&self) -> ::std::vec::Vec<#krate::__private::StateNeed> {
                #[allow(unused_mut)]
                let mut __proc_daemon_needs = ::std::vec![#(#krate::__private::StateNeed::of::<#state_types>()),*];
                #health_needs
                __proc_daemon_needs
            }
        });
    }
    let uses_context = parameters
        .iter()
        .any(|parameter| matches!(parameter, Parameter::Context | Parameter::State(_)));
    let run = if uses_context {
        quote! {
            fn run(&self, #handle: #krate::__private::ShutdownHandle) -> #krate::__private::RunFuture {
                #krate::__private::Subsystem::run_with_context(self, #krate::__private::detached_context(#handle))
            }

            fn run_with_context(&self, #context: #krate::__private::Context) -> #krate::__private::RunFuture {
                let #handle = #context.shutdown().clone();
                #krate::__private::Box::pin(async move {
                    #(#states)*
                    #body
                })
            }
        }
    } else {
        quote! {
            fn run(&self, #handle: #krate::__private::ShutdownHandle) -> #krate::__private::RunFuture {
                #krate::__private::Box::pin(async move { #body })
            }
        }
    };
    // Named once, spanned at the user's path: a wrong signature is one error, reported there.
    let health = options.health.as_ref().map(|path| {
        let parts = quote_spanned!(path.span()=> #krate::__private::health_parts(#path));
        quote! {
            impl #ident {
                #[doc(hidden)]
                fn __proc_daemon_health() -> #krate::__private::HealthParts {
                    #parts
                }
            }
        }
    });
    let doc = format!("The [`{ident}`](fn@{ident}) subsystem, as a value: `{ident} {{}}`.");
    quote! {
        #function

        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident {}

        #health

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
    if let Some((policy, _)) = options.restart {
        let policy = match policy {
            Policy::Never => quote!(#krate::__private::RestartPolicy::Never),
            Policy::Always => quote!(#krate::__private::RestartPolicy::Always),
            Policy::OnFailure => quote!(#krate::__private::RestartPolicy::OnFailure),
            Policy::ExponentialBackoff => {
                // Bounds left out are the runtime's defaults, named rather than copied.
                let initial = options.initial_delay.map_or_else(
                    || quote!(#krate::__private::RestartPolicy::DEFAULT_INITIAL_DELAY),
                    |(d, _)| duration(d),
                );
                let max = options.max_delay.map_or_else(
                    || quote!(#krate::__private::RestartPolicy::DEFAULT_MAX_DELAY),
                    |(d, _)| duration(d),
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
    if !options.after.is_empty() {
        // Each path named as the subsystem value it must be, spanned there: a path that is not
        // a `#[subsystem]` is a compile error at that path.
        let names = options
            .after
            .iter()
            .map(|path| quote_spanned!(path.span()=> #krate::__private::subsystem_name(&#path {})));
        methods.push(quote! {
            fn dependencies(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![#(#names),*]
            }
        });
    }
    if let Some((false, _)) = options.restarts_with_dependencies {
        methods.push(quote! {
            fn restarts_with_dependencies(&self) -> bool {
                false
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
    if options.singleton {
        methods.push(quote! {
            fn singleton(&self) -> bool {
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
    if options.health.is_some() {
        // Built by the inherent `__proc_daemon_health`, which names the user's path once.
        methods.push(quote! {
            fn health_check(&self) -> ::core::option::Option<#krate::__private::HealthCheck> {
                Self::__proc_daemon_health().build(&#krate::__private::StateMap::new())
            }

            fn health_check_with_state(
                &self,
                __proc_daemon_provided: &#krate::__private::StateMap,
            ) -> ::core::option::Option<#krate::__private::HealthCheck> {
                Self::__proc_daemon_health().build(__proc_daemon_provided)
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
            impl worker {
                #[doc(hidden)]
                fn __proc_daemon_health() -> ::proc_daemon::__private::HealthParts {
                    ::proc_daemon::__private::health_parts(queue_ok)
                }
            }
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
                                    use ::proc_daemon::__private::{
                                        ViaBoxedError as _, ViaInto as _, ViaNothing as _,
                                        ViaStdError as _,
                                    };
                                    let __proc_daemon_slot = ::proc_daemon::__private::ErrorSlot::new(
                                        __proc_daemon_error,
                                    );
                                    #[allow(clippy::needless_borrow)]
                                    let __proc_daemon_error = (&&&&__proc_daemon_slot)
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
                    Self::__proc_daemon_health().build(&::proc_daemon::__private::StateMap::new())
                }
                fn health_check_with_state(
                    &self,
                    __proc_daemon_provided: &::proc_daemon::__private::StateMap,
                ) -> ::core::option::Option<::proc_daemon::__private::HealthCheck> {
                    Self::__proc_daemon_health().build(__proc_daemon_provided)
                }
                fn required_state(&self) -> ::std::vec::Vec<::proc_daemon::__private::StateNeed> {
                    #[allow(unused_mut)]
                    let mut __proc_daemon_needs = ::std::vec![];
                    __proc_daemon_needs.extend(Self::__proc_daemon_health().needs());
                    __proc_daemon_needs
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
    fn backoff_bounds_left_out_are_the_runtimes_defaults() {
        let expanded = super::expand(
            quote!(restart = "exponential_backoff", max_delay = "1m"),
            quote!(
                async fn worker() {}
            ),
        );
        let text = pretty(&expanded);
        assert!(
            text.contains(
                "initial_delay: ::proc_daemon::__private::RestartPolicy::DEFAULT_INITIAL_DELAY,"
            ),
            "{text}"
        );
        assert!(
            text.contains("max_delay: ::proc_daemon::__private::Duration::from_secs(60),"),
            "{text}"
        );
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

    #[test]
    fn after_names_each_dependency_through_its_subsystem_value() {
        let expanded = super::expand(
            quote!(
                after = [db, storage::cache],
                restarts_with_dependencies = false
            ),
            quote!(
                async fn api() {}
            ),
        );
        let text = pretty(&expanded);
        assert!(
            text.contains(
                "fn dependencies(&self) -> ::std::vec::Vec<::std::string::String> {\n        ::std::vec![\n            ::proc_daemon::__private::subsystem_name(& db {}),\n            ::proc_daemon::__private::subsystem_name(& storage::cache {})\n        ]"
            ),
            "{text}"
        );
        assert!(
            text.contains("fn restarts_with_dependencies(&self) -> bool {\n        false\n    }"),
            "{text}"
        );
    }
}
