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

/// A channel by its name (`"web_form"`, or serde's object form for enums, `{ web_form: null }`), with
/// serde's message for an unknown one.
fn channel(value: &JsValue) -> Result<Channel, String> {
    let (name, payload) = if let Some(name) = value.as_string() {
        (name, JsValue::UNDEFINED)
    } else if value.is_object() {
        let entries = js_sys::Object::entries(value.unchecked_ref());
        if entries.length() != 1 {
            return Err(format!("invalid length {}, expected 1", entries.length()));
        }
        let entry: js_sys::Array = entries.get(0).unchecked_into();
        (entry.get(0).as_string().unwrap_or_default(), entry.get(1))
    } else {
        return Err(invalid_type(value, "enum Channel"));
    };
    let channel = Channel::deserialize(StrDeserializer::<ValueError>::new(&name))
        .map_err(|err| err.to_string())?;
    if payload.is_null() || payload.is_undefined() {
        Ok(channel)
    } else {
        Err(invalid_type(&payload, "unit"))
    }
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
/// formatting would add its tables to the module for this one message. JS's shortest digits are Rust's;
/// its exponent form (`1e+21`, `1.5e-7`) is written out in full as Rust writes it.
fn float(number: f64) -> String {
    let text: String = js_sys::Number::from(number)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default();
    let text = match text.as_str() {
        "Infinity" => return "inf".into(),
        "-Infinity" => return "-inf".into(),
        "NaN" => return text,
        "0" if number.is_sign_negative() => "-0".into(),
        _ => without_exponent(&text),
    };
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// `1.5e-7` as `0.00000015`, `1e+21` as `1000000000000000000000`; other text as it is.
fn without_exponent(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return text.to_string();
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let point = i32::try_from(whole.len()).unwrap_or(0) + exponent;
    let zeros = |n: i32| "0".repeat(usize::try_from(n).unwrap_or(0));
    let count = i32::try_from(digits.len()).unwrap_or(0);
    if point <= 0 {
        format!("{sign}0.{}{digits}", zeros(-point))
    } else if point >= count {
        format!("{sign}{digits}{}", zeros(point - count))
    } else {
        let (left, right) = digits
            .split_at_checked(usize::try_from(point).unwrap_or(0))
            .unwrap_or((&digits, ""));
        format!("{sign}{left}.{right}")
    }
}
