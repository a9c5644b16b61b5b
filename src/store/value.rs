//! The values a query binds and the rows it returns, shared by both backends (`sqlite`,
//! `postgres`) and the portable interface over them (`db`): kept apart so the backends depend on
//! these types, not on `db`, which depends on the backends.

use super::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    I64(i64),
    F64(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// One result row; typed getters fail (rather than panic) on a type mismatch.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> StoreResult<&Value> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Backend(format!("column {i} missing")))
    }
    pub fn opt_str(&self, i: usize) -> StoreResult<Option<String>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }
    pub fn str(&self, i: usize) -> StoreResult<String> {
        self.opt_str(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }
    pub fn opt_i64(&self, i: usize) -> StoreResult<Option<i64>> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::I64(v) => Ok(Some(*v)),
            Value::Bool(b) => Ok(Some(*b as i64)),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected integer, got {other:?}"
            ))),
        }
    }
    pub fn i64(&self, i: usize) -> StoreResult<i64> {
        self.opt_i64(i)?
            .ok_or_else(|| StoreError::Backend(format!("column {i} is null")))
    }
    pub fn f64(&self, i: usize) -> StoreResult<f64> {
        match self.at(i)? {
            Value::F64(v) => Ok(*v),
            Value::I64(v) => Ok(*v as f64),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected real, got {other:?}"
            ))),
        }
    }
    pub fn bool(&self, i: usize) -> StoreResult<bool> {
        match self.at(i)? {
            Value::Bool(b) => Ok(*b),
            Value::I64(v) => Ok(*v != 0),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected bool, got {other:?}"
            ))),
        }
    }
    pub fn bytes(&self, i: usize) -> StoreResult<Vec<u8>> {
        match self.at(i)? {
            Value::Bytes(b) => Ok(b.clone()),
            other => Err(StoreError::Backend(format!(
                "column {i}: expected bytes, got {other:?}"
            ))),
        }
    }
    /// A JSON document stored as TEXT.
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> StoreResult<T> {
        let s = self.str(i)?;
        serde_json::from_str(&s)
            .map_err(|e| StoreError::Backend(format!("column {i}: bad json: {e}")))
    }
}
