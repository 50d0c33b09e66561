//! Typed parameters on the author side. `#[derive(Params)]` turns a struct into a schema that the
//! host validates chain files against, and back into the struct for each image.

use crate::abi::{ErrorKind, ParamKind, ParamValue, PluginError};

/// One parameter as the author declared it; the host sees it as an ABI `ParamSpec`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDef {
    /// Stable id used in chain files.
    pub id: &'static str,
    /// Value type.
    pub kind: ParamKind,
    /// Default value.
    pub default: ParamValue,
    /// Inclusive lower bound (numbers only).
    pub min: f64,
    /// Inclusive upper bound (numbers only).
    pub max: f64,
    /// Unit shown in listings.
    pub unit: &'static str,
    /// Names for enums.
    pub choices: Vec<&'static str>,
    /// Documentation (the field's `///` comment).
    pub doc: &'static str,
}

/// A parameter struct. Derive it with `#[derive(Params)]`; implement it by hand only for unusual
/// needs.
pub trait Params: Sized + Send + Sync + 'static {
    /// The schema, in the order values are passed to [`Params::from_values`].
    fn schema() -> Vec<ParamDef>;
    /// Builds the struct from values in schema order (validated and defaulted by the host).
    fn from_values(values: &[ParamValue]) -> Result<Self, PluginError>;
}

/// No parameters.
impl Params for () {
    fn schema() -> Vec<ParamDef> {
        Vec::new()
    }
    fn from_values(_: &[ParamValue]) -> Result<Self, PluginError> {
        Ok(())
    }
}

/// A type a parameter field can have: numbers, `bool`, [`Color`], `String`, or an enum deriving
/// `ParamEnum`.
pub trait ParamField: Sized {
    /// The schema type.
    const KIND: ParamKind;
    /// The value as it crosses the ABI.
    fn to_value(&self) -> ParamValue;
    /// The field from a value of the right kind.
    fn from_value(v: &ParamValue) -> Option<Self>;
    /// Allowed names (enums only).
    fn choices() -> Vec<&'static str> {
        Vec::new()
    }
    /// Parses a default written as a string literal (`"#ff8800"`, `"lanczos3"`).
    fn parse_default(text: &str) -> Option<Self> {
        let _ = text;
        None
    }
}

/// Looks up `index` in `values` and converts it; used by the derive.
#[doc(hidden)]
pub fn field<T: ParamField>(values: &[ParamValue], index: usize, id: &str) -> Result<T, PluginError> {
    values.get(index).and_then(T::from_value).ok_or_else(|| {
        PluginError::new(
            ErrorKind::INVALID_PARAMS,
            format!("parameter `{id}`: expected a {} value, got {:?}", T::KIND, values.get(index)),
        )
    })
}

/// Parses a default given as a string literal; used by the derive.
#[doc(hidden)]
pub fn default_from_str<T: ParamField>(text: &str, id: &str) -> T {
    T::parse_default(text).unwrap_or_else(|| panic!("parameter `{id}`: default {text:?} is not a valid {}", T::KIND))
}

macro_rules! float_field {
    ($($t:ty),*) => {$(
        impl ParamField for $t {
            const KIND: ParamKind = ParamKind::FLOAT;
            fn to_value(&self) -> ParamValue { ParamValue::Float(*self as f64) }
            fn from_value(v: &ParamValue) -> Option<Self> {
                match v { ParamValue::Float(f) => Some(*f as $t), ParamValue::Int(i) => Some(*i as $t), _ => None }
            }
        }
    )*};
}
float_field!(f32, f64);

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl ParamField for $t {
            const KIND: ParamKind = ParamKind::INT;
            fn to_value(&self) -> ParamValue { ParamValue::Int(*self as i64) }
            fn from_value(v: &ParamValue) -> Option<Self> {
                match v { ParamValue::Int(i) => <$t>::try_from(*i).ok(), _ => None }
            }
        }
    )*};
}
int_field!(i32, i64, u32, u64, usize);

impl ParamField for bool {
    const KIND: ParamKind = ParamKind::BOOL;
    fn to_value(&self) -> ParamValue {
        ParamValue::Bool(*self)
    }
    fn from_value(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl ParamField for String {
    const KIND: ParamKind = ParamKind::STRING;
    fn to_value(&self) -> ParamValue {
        ParamValue::Text(self.as_str().into())
    }
    fn from_value(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Text(s) => Some(s.to_string()),
            _ => None,
        }
    }
    fn parse_default(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
}

/// An sRGB colour with straight alpha, channels in 0..1.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Color {
    /// Red.
    pub r: f32,
    /// Green.
    pub g: f32,
    /// Blue.
    pub b: f32,
    /// Alpha.
    pub a: f32,
}

impl Color {
    /// A colour from channels in 0..1.
    pub const fn new(r: f32, g: f32, b: f32, a: f32) -> Self {
        Color { r, g, b, a }
    }
    /// Parses `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa` (the `#` is optional).
    pub fn parse_hex(text: &str) -> Option<Color> {
        let h = text.trim().trim_start_matches('#');
        if !h.is_ascii() {
            return None;
        }
        let digit = |i: usize, n: usize| u8::from_str_radix(&h[i * n..i * n + n], 16).ok();
        let (n, count) = match h.len() {
            3 => (1, 3),
            4 => (1, 4),
            6 => (2, 3),
            8 => (2, 4),
            _ => return None,
        };
        let mut c = [1.0f32; 4];
        for (i, slot) in c.iter_mut().enumerate().take(count) {
            let v = digit(i, n)?;
            *slot = if n == 1 { (v * 17) as f32 / 255.0 } else { v as f32 / 255.0 };
        }
        Some(Color::new(c[0], c[1], c[2], c[3]))
    }
    /// The colour as an 8-bit pixel.
    pub fn to_rgba8(self) -> crate::Rgba8 {
        use crate::pixel::f32_to_u8;
        crate::Rgba8::new(f32_to_u8(self.r), f32_to_u8(self.g), f32_to_u8(self.b), f32_to_u8(self.a))
    }
    /// The colour as a float pixel.
    pub fn to_rgbaf32(self) -> crate::RgbaF32 {
        crate::RgbaF32::new(self.r, self.g, self.b, self.a)
    }
}

impl ParamField for Color {
    const KIND: ParamKind = ParamKind::COLOR;
    fn to_value(&self) -> ParamValue {
        ParamValue::Color([self.r, self.g, self.b, self.a])
    }
    fn from_value(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Color([r, g, b, a]) => Some(Color::new(*r, *g, *b, *a)),
            _ => None,
        }
    }
    fn parse_default(text: &str) -> Option<Self> {
        Color::parse_hex(text)
    }
}

/// An enum usable as a parameter; derive it with `#[derive(ParamEnum)]`.
pub trait ParamEnum: Sized + Copy + 'static {
    /// Variant names as written in chain files, in declaration order.
    const NAMES: &'static [&'static str];
    /// The variant at `index`.
    fn from_index(index: u32) -> Option<Self>;
    /// Index of this variant.
    fn index(self) -> u32;
}

impl<T: ParamEnum> ParamField for T {
    const KIND: ParamKind = ParamKind::ENUM;
    fn to_value(&self) -> ParamValue {
        ParamValue::Enum(self.index())
    }
    fn from_value(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Enum(i) => T::from_index(*i),
            _ => None,
        }
    }
    fn choices() -> Vec<&'static str> {
        T::NAMES.to_vec()
    }
    fn parse_default(text: &str) -> Option<Self> {
        let i = T::NAMES.iter().position(|n| n.eq_ignore_ascii_case(text))?;
        T::from_index(i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Border, BorderParams, ParamEnum, Params};

    #[derive(ParamEnum, Copy, Clone, Debug, PartialEq)]
    enum Mode {
        FastPath,
        #[choice("slow-but-sure")]
        Careful,
    }

    #[derive(Params)]
    struct Example {
        /// Named after the field.
        #[param(default = 2.5, range = 0.0..=10.0, unit = "px")]
        sigma: f32,
        /// With an id of its own.
        #[param(id = "n", default = 3)]
        count: u32,
        #[param(flatten)]
        border: BorderParams,
        /// An enum, after the flattened group.
        #[param(default = "slow-but-sure")]
        mode: Mode,
    }

    #[test]
    fn ids_default_to_field_names_and_groups_flatten_in_place() {
        let schema = Example::schema();
        let ids: Vec<&str> = schema.iter().map(|p| p.id).collect();
        assert_eq!(ids, ["sigma", "n", "border", "mode"]);
        assert_eq!(schema[0].doc, "Named after the field.");
        assert_eq!((schema[0].min, schema[0].max, schema[0].unit), (0.0, 10.0, "px"));
        assert_eq!(schema[3].choices, ["fast_path", "slow-but-sure"]);
        assert_eq!(schema[3].default, ParamValue::Enum(1));
        let values = [ParamValue::Float(1.0), ParamValue::Int(7), ParamValue::Enum(2), ParamValue::Enum(0)];
        let p = Example::from_values(&values).unwrap();
        assert_eq!((p.sigma, p.count, p.border.mode, p.mode), (1.0, 7, Border::Wrap, Mode::FastPath));
        let err = Example::from_values(&values[..3]).err().unwrap();
        assert!(err.message.contains("`mode`"), "{err}");
    }
}
