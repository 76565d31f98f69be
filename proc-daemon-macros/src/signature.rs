//! What a function's signature means to the macros: its parameters and its return type.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, PathArguments, ReturnType, Signature, Type};

use crate::args::Errors;

/// How the function reports its outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Returns {
    /// `()`: it cannot fail.
    Unit,
    /// `Result<(), E>`.
    Result,
}

/// Classifies the return type; anything but `()` or `Result<(), E>` is an error at the type.
pub(crate) fn returns(signature: &Signature, what: &str, errors: &mut Errors) -> Returns {
    let ty = match &signature.output {
        ReturnType::Default => return Returns::Unit,
        ReturnType::Type(_, ty) => ty,
    };
    match &**ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Returns::Unit,
        Type::Path(path) if path.qself.is_none() && is_unit_result(&path.path) => Returns::Result,
        other => {
            errors.push(syn::Error::new(
                other.span(),
                format!("{what} returns `()` or `Result<(), E>`"),
            ));
            Returns::Unit
        }
    }
}

/// `Result<()>` or `Result<(), E>` under any path (`std::io::Result<()>`, an alias, ...).
fn is_unit_result(path: &syn::Path) -> bool {
    let Some(last) = path.segments.last() else {
        return false;
    };
    if last.ident != "Result" {
        return false;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return false;
    };
    matches!(
        arguments.args.first(),
        Some(GenericArgument::Type(Type::Tuple(tuple))) if tuple.elems.is_empty()
    )
}

/// A parameter a subsystem function may take, matched by the last segment of its type's path
/// (so `ShutdownHandle`, `proc_daemon::ShutdownHandle` and re-exports all work).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Parameter {
    /// `ShutdownHandle`.
    Shutdown,
    /// `Context`.
    Context,
}

fn parameter_kind(ty: &Type) -> Option<Parameter> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if path.qself.is_some() || !last.arguments.is_none() {
        return None;
    }
    if last.ident == "ShutdownHandle" {
        Some(Parameter::Shutdown)
    } else if last.ident == "Context" {
        Some(Parameter::Context)
    } else {
        None
    }
}

/// The function's parameters, in order; errors for anything but one `ShutdownHandle` and one
/// `Context`.
pub(crate) fn subsystem_parameters(signature: &Signature, errors: &mut Errors) -> Vec<Parameter> {
    let mut parameters = Vec::new();
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new(
                receiver.span(),
                "a subsystem is a free function; it cannot take `self`",
            )),
            FnArg::Typed(typed) => match parameter_kind(&typed.ty) {
                Some(kind) if parameters.contains(&kind) => {
                    let name = match kind {
                        Parameter::Shutdown => "ShutdownHandle",
                        Parameter::Context => "Context",
                    };
                    errors.push(syn::Error::new(
                        typed.ty.span(),
                        format!("duplicate `{name}` parameter; a subsystem receives one"),
                    ));
                }
                Some(kind) => parameters.push(kind),
                None => errors.push(syn::Error::new(
                    typed.ty.span(),
                    "unsupported parameter type; a subsystem function takes a `ShutdownHandle` and/or a `Context`, each at most once",
                )),
            },
        }
    }
    parameters
}

/// An expression converting `error` (any `E: Into<proc_daemon::Error>`, or any std error) into
/// `proc_daemon::Error`, choosing the conversion by autoref specialisation.
pub(crate) fn error_conversion(
    krate: &syn::Path,
    error: &proc_macro2::Ident,
) -> proc_macro2::TokenStream {
    quote::quote! {{
        use #krate::__private::{ViaBoxedError as _, ViaInto as _, ViaStdError as _};
        let __proc_daemon_slot = #krate::__private::ErrorSlot::new(#error);
        // The triple borrow is what picks the conversion.
        #[allow(clippy::needless_borrow)]
        let __proc_daemon_error = (&&&__proc_daemon_slot).take_daemon_error();
        __proc_daemon_error
    }}
}
