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

/// Whether `ty` names the runtime's `ShutdownHandle` (matched by its last path segment, so
/// `ShutdownHandle`, `proc_daemon::ShutdownHandle` and re-exports all work).
fn is_shutdown_handle(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|s| s.ident == "ShutdownHandle" && s.arguments.is_none()))
}

/// Whether the function takes the shutdown handle; errors for any other parameter.
pub(crate) fn takes_shutdown_handle(signature: &Signature, errors: &mut Errors) -> bool {
    let mut seen_handle = false;
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new(
                receiver.span(),
                "a subsystem is a free function; it cannot take `self`",
            )),
            FnArg::Typed(typed) if is_shutdown_handle(&typed.ty) => {
                if seen_handle {
                    errors.push(syn::Error::new(
                        typed.ty.span(),
                        "duplicate `ShutdownHandle` parameter; a subsystem receives one handle",
                    ));
                }
                seen_handle = true;
            }
            FnArg::Typed(typed) => errors.push(syn::Error::new(
                typed.ty.span(),
                "unsupported parameter type; a subsystem function takes at most one parameter, a `ShutdownHandle`",
            )),
        }
    }
    seen_handle
}
