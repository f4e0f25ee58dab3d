//! Reads `assess`'s input object from JS field by field, with the messages serde gives for a wrong
//! shape (`missing field`, `invalid type: ..., expected ...`, `unknown variant`): the first problem, in
//! the order of [`INPUT_FIELDS`]. Written out rather than with serde-wasm-bindgen, whose deserializer,
//! and the Rust float formatting its messages need, were a tenth of the module.
//!
//! As with serde-wasm-bindgen, a field that is absent (or `undefined` and not an own key) is not given,
//! `null` is no answer for the optional fields, and an unpaired UTF-16 surrogate becomes U+FFFD.

use feedback_core::Channel;
use serde::Deserialize;
use serde::de::value::{Error as ValueError, StrDeserializer};
use wasm_bindgen::{JsCast, JsValue};

use crate::{AssessInput, INPUT_FIELDS};

/// The input as an [`AssessInput`], or what is wrong with its shape.
pub(crate) fn read(input: &JsValue) -> Result<AssessInput, String> {
    let mut read = AssessInput::default();
    let mut text = None;
    for name in INPUT_FIELDS {
        let Some(value) = field(input, name)? else {
            continue;
        };
        match name {
            "text" => text = Some(string(&value)?),
            "subject" => read.subject = optional(&value, string)?,
            "received" => read.received = optional(&value, string)?,
            "channel" => read.channel = optional(&value, channel)?,
            "service_area" => read.service_area = optional(&value, string)?,
            "aware_since" => read.aware_since = optional(&value, string)?,
            "on_behalf" => read.on_behalf = optional(&value, boolean)?,
            _ => read.legal_action_started = optional(&value, boolean)?,
        }
    }
    read.text = text.ok_or("missing field `text`")?;
    Ok(read)
}

/// A field's value; `None` when the object does not have it.
fn field(input: &JsValue, name: &str) -> Result<Option<JsValue>, String> {
    let key = JsValue::from_str(name);
    let value = js_sys::Reflect::get(input, &key)
        .map_err(|err| format!("reading `{name}` failed: {err:?}"))?;
    let absent = value.is_undefined() && !js_sys::Reflect::has(input, &key).unwrap_or(false);
    Ok((!absent).then_some(value))
}

fn optional<T>(
    value: &JsValue,
    read: impl Fn(&JsValue) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if value.is_null() || value.is_undefined() {
        Ok(None)
    } else {
        read(value).map(Some)
    }
}

fn string(value: &JsValue) -> Result<String, String> {
    value
        .as_string()
        .ok_or_else(|| invalid_type(value, "a string"))
}

fn boolean(value: &JsValue) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| invalid_type(value, "a boolean"))
}

/// A channel by its name, with serde's message for an unknown one.
fn channel(value: &JsValue) -> Result<Channel, String> {
    let name = value
        .as_string()
        .ok_or_else(|| invalid_type(value, "enum Channel"))?;
    Channel::deserialize(StrDeserializer::<ValueError>::new(&name)).map_err(|err| err.to_string())
}

/// serde's `invalid type` message, with the value described as serde-wasm-bindgen describes it.
fn invalid_type(value: &JsValue, expected: &str) -> String {
    let unexpected = if value.is_null() || value.is_undefined() {
        "unit value".to_string()
    } else if let Some(value) = value.as_bool() {
        format!("boolean `{value}`")
    } else if let Some(number) = value.as_f64() {
        format!("floating point `{}`", float(number))
    } else if let Some(value) = value.as_string() {
        format!("string {value:?}")
    } else if value.is_instance_of::<js_sys::Uint8Array>()
        || value.is_instance_of::<js_sys::ArrayBuffer>()
    {
        "byte array".to_string()
    } else {
        format!("{value:?}")
    };
    format!("invalid type: {unexpected}, expected {expected}")
}

/// A number as serde's messages write it (`5.0`, `2.5`, `inf`), formatted by JS: Rust's float
/// formatting would add its tables to the module for this one message. (Numbers of 1e21 or more, or
/// under 1e-6, keep JS's exponent form.)
fn float(number: f64) -> String {
    let text: String = js_sys::Number::from(number)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default();
    match text.as_str() {
        "Infinity" => "inf".into(),
        "-Infinity" => "-inf".into(),
        "NaN" => text,
        "0" if number.is_sign_negative() => "-0.0".into(),
        _ if text.contains('.') => text,
        _ => format!("{text}.0"),
    }
}
