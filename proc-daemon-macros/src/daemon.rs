//! `#[daemon]`: turns `main` into the whole life of a daemon process.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Path};

use crate::args::{self, Errors, with_errors};
use crate::signature::{self, Returns};

crate::args::key_table! {
    "daemon", docs: daemon_key_docs;
    Config = "config": "string path, or a macro such as `concat!` that makes one; the config file. `--config PATH` or `<PREFIX>_CONFIG` override it at run time. Default: none, defaults and environment only.",
    Name = "name": "string; the daemon's name (unless the config sets one). Default: the package name.",
    Subsystems = "subsystems": "`[path, ...]` of `#[subsystem]` functions; started in this order.",
    EnvPrefix = "env_prefix": "string of upper-case letters, digits and `_`; the prefix of environment overrides. Default: `\"DAEMON\"`.",
    Cli = "cli": "bool; whether `main` handles `--config`, `--check-config`, `--print-config`, `--help`, `--version` and `ctl`. Default: `true`.",
    App = "app": "type path, like `app = Settings`; `[app]` must deserialise into it (`serde::Deserialize`), checked by `--check-config`, at start (exit 78) and by every reload. Default: none, `[app]` is free-form.",
    Crate = "crate": "string path of the runtime crate. Default: `\"proc_daemon\"`.",
}

#[derive(Default)]
struct Options {
    krate: Option<Path>,
    config: Option<TokenStream>,
    name: Option<LitStr>,
    subsystems: Vec<Path>,
    env_prefix: Option<LitStr>,
    cli: Option<bool>,
    app: Option<syn::Type>,
}

fn parse_options(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    args::parse_keys(args, KEYS, errors, |key, meta| match key {
        Key::Config => {
            // A literal, or a macro producing one (`concat!(env!("CARGO_MANIFEST_DIR"), ..)`).
            if meta.input.peek2(syn::LitStr) {
                let path = args::string(meta)?;
                if path.value().is_empty() {
                    return Err(syn::Error::new(path.span(), "`config` must name a file"));
                }
                options.config = Some(quote!(#path));
            } else {
                let value = meta.value()?;
                let call: syn::ExprMacro = value.parse().map_err(|err| {
                        syn::Error::new(
                            err.span(),
                            "`config` takes a path as a string, like config = \"/etc/my-daemon.toml\", or a macro such as `concat!` that makes one",
                        )
                    })?;
                options.config = Some(quote!(#call));
            }
            Ok(())
        }
        Key::Name => {
            let name = args::string(meta)?;
            if name.value().trim().is_empty() {
                return Err(syn::Error::new(name.span(), "`name` must not be empty"));
            }
            options.name = Some(name);
            Ok(())
        }
        Key::Subsystems => {
            options.subsystems = args::path_list(
                meta,
                "subsystems = [worker, api::server]",
                "`#[subsystem]` function",
            )?;
            Ok(())
        }
        Key::EnvPrefix => {
            let prefix = args::string(meta)?;
            let text = prefix.value();
            let valid = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !text.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(syn::Error::new(
                    prefix.span(),
                    "`env_prefix` must be upper-case letters, digits and `_`, like \"MY_DAEMON\"",
                ));
            }
            options.env_prefix = Some(prefix);
            Ok(())
        }
        Key::Cli => {
            options.cli = Some(args::boolean(meta)?);
            Ok(())
        }
        Key::App => {
            let value = meta.value()?;
            options.app = Some(value.parse().map_err(|err: syn::Error| {
                syn::Error::new(
                    err.span(),
                    "`app` takes the type of your `[app]` settings, like `app = Settings`",
                )
            })?);
            Ok(())
        }
        Key::Crate => {
            options.krate = Some(args::crate_path(meta)?);
            Ok(())
        }
    });
    options
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(args, &mut errors);
    let (function, mut errors) =
        match args::function_or_errors(item, "#[daemon] goes on `fn main`", errors) {
            Ok(parsed) => parsed,
            Err(output) => return output,
        };
    let signature = &function.sig;
    if signature.ident != "main" {
        errors.push(syn::Error::new(
            signature.ident.span(),
            format!(
                "#[daemon] goes on `fn main`, not on `fn {}`",
                signature.ident
            ),
        ));
    }
    if !signature.inputs.is_empty() {
        errors.push(syn::Error::new(
            signature.inputs.span(),
            "`main` takes no parameters; read configuration with `--config`, the config file or `DAEMON_*` variables",
        ));
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new(
            signature.generics.span(),
            "`main` cannot be generic",
        ));
    }
    let returns = signature::returns(signature, "`main`", &mut errors);
    if errors.has_errors() {
        // A `main` with a wrong signature would add rustc's own errors to ours; nested in a
        // plain `main` it is still there for the IDE, without them.
        let item = if signature.ident == "main" {
            quote! {
                fn main() {
                    #[allow(dead_code, unused)]
                    #function
                }
            }
        } else {
            quote!(#function)
        };
        return with_errors(item, errors);
    }

    let krate = options.krate.unwrap_or_else(args::default_crate);
    let attrs = &function.attrs;
    let block = &function.block;
    let output = &signature.output;
    let asyncness = &signature.asyncness;
    let setup = format_ident!("__proc_daemon_setup");
    let daemon = format_ident!("__proc_daemon_daemon");
    let await_setup = asyncness.map(|_| quote!(.await));
    let convert = signature::error_conversion(
        &krate,
        &format_ident!("__proc_daemon_error"),
        signature::error_type_span(signature),
    );
    let run_setup = match returns {
        Returns::Unit => quote!(#setup()#await_setup;),
        Returns::Result => quote! {
            if let ::core::result::Result::Err(__proc_daemon_error) = #setup()#await_setup {
                return ::core::result::Result::Err(#convert);
            }
        },
    };
    let name = options.name.map_or_else(
        || quote!(::core::env!("CARGO_PKG_NAME")),
        |name| quote!(#name),
    );
    let config = options.config.map(|path| quote!(.config_file(#path)));
    let env_prefix = options
        .env_prefix
        .map(|prefix| quote!(.env_prefix(#prefix)));
    let cli = options.cli.map(|cli| quote!(.cli(#cli)));
    let app = options.app.as_ref().map(|ty| quote!(.app::<#ty>()));
    let subsystems = options
        .subsystems
        .iter()
        .map(|path| quote_spanned!(path.span()=> .with_subsystem(#path {})));
    quote! {
        fn main() -> ::std::process::ExitCode {
            // Runs at load time, before `main`: the stop signals stay pending, not fatal, until
            // the launcher has installed their handlers.
            #[used]
            #[cfg_attr(
                any(target_os = "linux", target_os = "android", target_os = "freebsd",
                    target_os = "netbsd", target_os = "openbsd", target_os = "dragonfly",
                    target_os = "illumos", target_os = "solaris"),
                unsafe(link_section = ".init_array")
            )]
            #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
            static __PROC_DAEMON_HOLD_SIGNALS: extern "C" fn() =
                #krate::__private::block_until_installed;

            #(#attrs)*
            #asyncness fn #setup() #output #block

            #krate::__private::Launcher::new(#name)
                .version(::core::env!("CARGO_PKG_VERSION"))
                #config
                #env_prefix
                #cli
                #app
                .run(|#daemon: #krate::__private::DaemonBuilder| async move {
                    #run_setup
                    ::core::result::Result::Ok(#daemon #(#subsystems)*)
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use quote::quote;

    use crate::snapshot::pretty;

    #[test]
    fn expansion_of_an_async_main_with_everything() {
        let expanded = super::expand(
            quote!(
                config = "daemon.toml",
                name = "shop",
                subsystems = [worker, api::server],
                env_prefix = "SHOP",
                cli = true
            ),
            quote! {
                async fn main() -> proc_daemon::Result<()> {
                    prepare().await?;
                    Ok(())
                }
            },
        );
        expect![[r#"
            fn main() -> ::std::process::ExitCode {
                #[used]
                #[cfg_attr(
                    any(
                        target_os = "linux",
                        target_os = "android",
                        target_os = "freebsd",
                        target_os = "netbsd",
                        target_os = "openbsd",
                        target_os = "dragonfly",
                        target_os = "illumos",
                        target_os = "solaris"
                    ),
                    unsafe(link_section = ".init_array")
                )]
                #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
                static __PROC_DAEMON_HOLD_SIGNALS: extern "C" fn() = ::proc_daemon::__private::block_until_installed;
                async fn __proc_daemon_setup() -> proc_daemon::Result<()> {
                    prepare().await?;
                    Ok(())
                }
                ::proc_daemon::__private::Launcher::new("shop")
                    .version(::core::env!("CARGO_PKG_VERSION"))
                    .config_file("daemon.toml")
                    .env_prefix("SHOP")
                    .cli(true)
                    .run(|__proc_daemon_daemon: ::proc_daemon::__private::DaemonBuilder| async move {
                        if let ::core::result::Result::Err(__proc_daemon_error) = __proc_daemon_setup()
                            .await
                        {
                            return ::core::result::Result::Err({
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
                            });
                        }
                        ::core::result::Result::Ok(
                            __proc_daemon_daemon
                                .with_subsystem(worker {})
                                .with_subsystem(api::server {}),
                        )
                    })
            }
        "#]].assert_eq(&pretty(&expanded));
    }

    #[test]
    fn expansion_of_a_plain_main() {
        let expanded = super::expand(
            quote!(subsystems = [worker]),
            quote!(
                fn main() {}
            ),
        );
        expect![[r#"
            fn main() -> ::std::process::ExitCode {
                #[used]
                #[cfg_attr(
                    any(
                        target_os = "linux",
                        target_os = "android",
                        target_os = "freebsd",
                        target_os = "netbsd",
                        target_os = "openbsd",
                        target_os = "dragonfly",
                        target_os = "illumos",
                        target_os = "solaris"
                    ),
                    unsafe(link_section = ".init_array")
                )]
                #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
                static __PROC_DAEMON_HOLD_SIGNALS: extern "C" fn() = ::proc_daemon::__private::block_until_installed;
                fn __proc_daemon_setup() {}
                ::proc_daemon::__private::Launcher::new(::core::env!("CARGO_PKG_NAME"))
                    .version(::core::env!("CARGO_PKG_VERSION"))
                    .run(|__proc_daemon_daemon: ::proc_daemon::__private::DaemonBuilder| async move {
                        __proc_daemon_setup();
                        ::core::result::Result::Ok(__proc_daemon_daemon.with_subsystem(worker {}))
                    })
            }
        "#]].assert_eq(&pretty(&expanded));
    }
}
