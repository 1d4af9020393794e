//! JSON objects with unique keys. RFC 8259 leaves duplicate names to the implementation, and
//! serde_json keeps the last one; two parsers of the same text can then disagree about what
//! it says (a token whose `role` is read as `patient` by one and `ministry` by another, a feed
//! line stored under its second `cpr`). Wherever the gateway trusts a document's content, it
//! is parsed here and a duplicate name refuses it.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses JSON text, refusing any object with a repeated name (`duplicate key "cpr"`).
pub fn parse_unique(text: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Unique>(text).map(|u| u.0)
}

struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_name_refuses_the_document_at_any_depth() {
        let ok = parse_unique(br#"{"a": 1, "b": [{"c": null, "d": 2.5}], "e": "x"}"#).expect("ok");
        assert_eq!(ok["b"][0]["d"], 2.5);
        for bad in [
            r#"{"role": "patient", "role": "ministry"}"#,
            r#"{"a": {"x": 1, "x": 1}}"#,
            r#"[{"k": 1, "k": 2}]"#,
        ] {
            let e = parse_unique(bad.as_bytes()).expect_err(bad).to_string();
            assert!(e.contains("duplicate key"), "{e}");
        }
        // The same as serde_json for everything else.
        let text = r#"{"n": 52.0, "m": 52, "big": 18446744073709551615, "neg": -3}"#;
        assert_eq!(
            parse_unique(text.as_bytes()).expect("ok"),
            serde_json::from_str::<Value>(text).expect("ok")
        );
        assert!(parse_unique(b"{\"a\": 1} trailing").is_err());
    }
}
