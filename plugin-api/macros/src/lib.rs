//! Derives for `fxchain-plugin-api`: `#[derive(Params)]` and `#[derive(ParamEnum)]`.
//! Use them through `fxchain_plugin_api::prelude`.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_macro_input, Data, DeriveInput, Expr, Fields, Lit, LitStr, RangeLimits};

/// Derives `Params` for a struct with named fields. Each field takes
/// `#[param(id = "name", default = EXPR, range = A..=B, unit = "px")]` (all optional; `id` defaults
/// to the field name, `default` to the type's default), or `#[param(flatten)]` for a field whose
/// type is itself a parameter struct, whose parameters are then listed in its place. The field's
/// `///` doc becomes the parameter's doc.
#[proc_macro_derive(Params, attributes(param))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match params_impl(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `ParamEnum` for a fieldless enum. Variant names become snake_case choices unless a
/// variant has `#[choice("name")]`.
#[proc_macro_derive(ParamEnum, attributes(choice))]
pub fn derive_param_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match enum_impl(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta {
            if let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &nv.value {
                lines.push(s.value().trim().to_string());
            }
        }
    }
    lines.join(" ").trim().to_string()
}

fn params_impl(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(input.span(), "#[derive(Params)] needs a struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(input.span(), "#[derive(Params)] needs named fields"));
    };
    let api = quote!(::fxchain_plugin_api);
    let mut specs = Vec::new();
    let mut inits = Vec::new();
    let mut names = Vec::new();
    for field in fields.named.iter() {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        names.push(ident.clone());
        if field.attrs.iter().any(is_flatten) {
            specs.push(quote!(schema.extend(<#ty as #api::Params>::schema());));
            inits.push(quote! {
                let #ident = {
                    let n = <#ty as #api::Params>::schema().len();
                    let v = <#ty as #api::Params>::from_values(values.get(at..at + n).unwrap_or(&[]))?;
                    at += n;
                    v
                };
            });
            continue;
        }
        let mut id = ident.to_string().trim_start_matches("r#").to_string();
        let mut default: Option<Expr> = None;
        let mut range: Option<(Expr, Expr)> = None;
        let mut unit = String::new();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("param")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("id") {
                    id = meta.value()?.parse::<LitStr>()?.value();
                } else if meta.path.is_ident("default") {
                    default = Some(meta.value()?.parse::<Expr>()?);
                } else if meta.path.is_ident("range") {
                    let expr = meta.value()?.parse::<Expr>()?;
                    let Expr::Range(r) = &expr else {
                        return Err(meta.error("range must be written `A..=B`"));
                    };
                    if !matches!(r.limits, RangeLimits::Closed(_)) {
                        return Err(meta.error("range must be inclusive: `A..=B`"));
                    }
                    let (Some(a), Some(b)) = (&r.start, &r.end) else {
                        return Err(meta.error("range needs both bounds: `A..=B`"));
                    };
                    range = Some(((**a).clone(), (**b).clone()));
                } else if meta.path.is_ident("unit") {
                    unit = meta.value()?.parse::<LitStr>()?.value();
                } else {
                    return Err(meta.error("expected `id`, `default`, `range`, `unit` or `flatten`"));
                }
                Ok(())
            })?;
        }
        let doc = doc_of(&field.attrs);
        let default_value = match &default {
            Some(Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. })) => {
                quote_spanned!(s.span()=> #api::__private::default_from_str::<#ty>(#s, #id))
            }
            Some(e) => quote_spanned!(e.span()=> { let d: #ty = #e; d }),
            None => quote!(<#ty as ::core::default::Default>::default()),
        };
        let (min, max) = match &range {
            Some((a, b)) => (quote!((#a) as f64), quote!((#b) as f64)),
            None => (quote!(f64::NEG_INFINITY), quote!(f64::INFINITY)),
        };
        specs.push(quote! {
            schema.push(#api::ParamDef {
                id: #id,
                kind: <#ty as #api::ParamField>::KIND,
                default: #api::ParamField::to_value(&#default_value),
                min: #min,
                max: #max,
                unit: #unit,
                choices: <#ty as #api::ParamField>::choices(),
                doc: #doc,
            });
        });
        inits.push(quote! {
            let #ident = #api::__private::field::<#ty>(values, at, #id)?;
            at += 1;
        });
    }
    let (ig, tg, wc) = input.generics.split_for_impl();
    Ok(quote! {
        impl #ig #api::Params for #name #tg #wc {
            fn schema() -> ::std::vec::Vec<#api::ParamDef> {
                #[allow(unused_mut)]
                let mut schema = ::std::vec::Vec::new();
                #(#specs)*
                schema
            }
            #[allow(unused_assignments, unused_mut, unused_variables)]
            fn from_values(values: &[#api::ParamValue]) -> ::core::result::Result<Self, #api::PluginError> {
                let mut at = 0usize;
                #(#inits)*
                ::core::result::Result::Ok(Self { #(#names),* })
            }
        }
    })
}

fn is_flatten(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("param")
        && attr
            .parse_nested_meta(|meta| if meta.path.is_ident("flatten") { Ok(()) } else { Err(meta.error("")) })
            .is_ok()
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn enum_impl(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(input.span(), "#[derive(ParamEnum)] needs an enum"));
    };
    let api = quote!(::fxchain_plugin_api);
    let mut names = Vec::new();
    let mut from = Vec::new();
    let mut to = Vec::new();
    for (i, v) in data.variants.iter().enumerate() {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(v.span(), "ParamEnum variants cannot have fields"));
        }
        let mut text = snake(&v.ident.to_string());
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("choice")) {
            text = attr.parse_args::<LitStr>()?.value();
        }
        let ident = &v.ident;
        let i = i as u32;
        names.push(text);
        from.push(quote!(#i => ::core::option::Option::Some(Self::#ident)));
        to.push(quote!(Self::#ident => #i));
    }
    Ok(quote! {
        impl #api::ParamEnum for #name {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            fn from_index(index: u32) -> ::core::option::Option<Self> {
                match index { #(#from,)* _ => ::core::option::Option::None }
            }
            fn index(self) -> u32 {
                match self { #(#to),* }
            }
        }
    })
}
