//! JSON type names as Auth0's validation messages spell them ("Expected type string but found
//! type number"): the one helper every hand-written body check uses until the typed boundary
//! (issue 13 item 1) replaces those checks.

use serde_json::Value;

/// `null`, `boolean`, `number`, `string`, `array` or `object`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// As [`type_name`], with whole numbers named `integer` (JSON Schema's distinction, which
/// Auth0's connection option messages make).
pub fn schema_type_name(v: &Value) -> &'static str {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        other => type_name(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert_eq!(type_name(&json!(null)), "null");
        assert_eq!(type_name(&json!(1)), "number");
        assert_eq!(schema_type_name(&json!(1)), "integer");
        assert_eq!(schema_type_name(&json!(1.5)), "number");
        assert_eq!(type_name(&json!({})), "object");
    }
}
