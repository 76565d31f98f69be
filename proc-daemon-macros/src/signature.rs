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

/// Where a rejected error type is reported: the `E` of `Result<(), E>`, or the `Result` of an
/// alias such as `Result<()>`.
pub(crate) fn error_type_span(signature: &Signature) -> proc_macro2::Span {
    let ReturnType::Type(_, ty) = &signature.output else {
        return signature.output.span();
    };
    let Type::Path(path) = &**ty else {
        return ty.span();
    };
    let Some(last) = path.path.segments.last() else {
        return ty.span();
    };
    match &last.arguments {
        PathArguments::AngleBracketed(arguments) => arguments
            .args
            .iter()
            .nth(1)
            .map_or_else(|| last.ident.span(), Spanned::span),
        _ => last.ident.span(),
    }
}

/// A parameter a subsystem function may take, matched by the last segment of its type's path
/// (so `ShutdownHandle`, `proc_daemon::ShutdownHandle` and re-exports all work).
#[derive(Clone)]
pub(crate) enum Parameter {
    /// `ShutdownHandle`.
    Shutdown,
    /// `Context`.
    Context,
    /// `State<T>`: the `T` the set-up provided.
    State(Box<Type>),
}

fn parameter_kind(ty: &Type) -> Option<Parameter> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if path.qself.is_some() {
        return None;
    }
    match &last.arguments {
        PathArguments::None if last.ident == "ShutdownHandle" => Some(Parameter::Shutdown),
        PathArguments::None if last.ident == "Context" => Some(Parameter::Context),
        PathArguments::AngleBracketed(arguments)
            if last.ident == "State" && arguments.args.len() == 1 =>
        {
            match arguments.args.first() {
                Some(GenericArgument::Type(inner)) => {
                    Some(Parameter::State(Box::new(inner.clone())))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The function's parameters, in order; errors for anything but one `ShutdownHandle`, one
/// `Context` and `State<T>` values.
pub(crate) fn subsystem_parameters(signature: &Signature, errors: &mut Errors) -> Vec<Parameter> {
    let mut parameters = Vec::new();
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new(
                receiver.span(),
                "a subsystem is a free function; it cannot take `self`",
            )),
            FnArg::Typed(typed) => match parameter_kind(&typed.ty) {
                Some(kind @ (Parameter::Shutdown | Parameter::Context))
                    if parameters
                        .iter()
                        .any(|seen| std::mem::discriminant(seen) == std::mem::discriminant(&kind)) =>
                {
                    let name = if matches!(kind, Parameter::Shutdown) {
                        "ShutdownHandle"
                    } else {
                        "Context"
                    };
                    errors.push(syn::Error::new(
                        typed.ty.span(),
                        format!("duplicate `{name}` parameter; a subsystem receives one"),
                    ));
                }
                Some(kind) => parameters.push(kind),
                None => errors.push(syn::Error::new(
                    typed.ty.span(),
                    "unsupported parameter type; a subsystem function takes a `ShutdownHandle` and a `Context` (each at most once) and `State<T>` values; to hand it a pool or a client, call `proc_daemon::provide(value)` in the `#[daemon]` set-up and take `State<YourType>`",
                )),
            },
        }
    }
    parameters
}

/// An expression converting `error` (any `E: Into<proc_daemon::Error>`, any std error, or what
/// converts into a boxed error) into `proc_daemon::Error`, choosing the conversion by autoref
/// specialisation. Spanned at `returns` (the function's return type), where a type that fits no
/// conversion is reported.
pub(crate) fn error_conversion(
    krate: &syn::Path,
    error: &proc_macro2::Ident,
    returns: proc_macro2::Span,
) -> proc_macro2::TokenStream {
    let take = quote::quote_spanned!(returns=> (&&&&__proc_daemon_slot).take_daemon_error());
    quote::quote! {{
        use #krate::__private::{
            ViaBoxedError as _, ViaInto as _, ViaNothing as _, ViaStdError as _,
        };
        let __proc_daemon_slot = #krate::__private::ErrorSlot::new(#error);
        // The quadruple borrow is what picks the conversion.
        #[allow(clippy::needless_borrow)]
        let __proc_daemon_error = #take;
        __proc_daemon_error
    }}
}
