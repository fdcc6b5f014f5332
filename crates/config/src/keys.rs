//! The keys a schema type takes at a path, read from serde itself (the field lists its derive
//! passes to `deserialize_struct`), so "did you mean …?" never falls out of step with the schema.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// The field names `T` accepts at `path` (`["docker"]` → `endpoint`, `domain`, …; a map level
/// takes any key, so `["entryPoints", "http"]` reaches the entrypoint's fields). Aliases that
/// only respell a name in lower case are left out. Empty when the path leads to no table.
pub fn known_keys<T: DeserializeOwned>(path: &[&str]) -> Vec<&'static str> {
    let found = RefCell::new(None);
    let _ = T::deserialize(Probe {
        path,
        found: &found,
    });
    let fields: Vec<&'static str> = found.into_inner().unwrap_or_default().to_vec();
    fields
        .iter()
        .copied()
        .filter(|f| {
            // `exposedbydefault` respells `exposedByDefault`: keep the camelCase one.
            !(f.bytes().all(|b| !b.is_ascii_uppercase())
                && fields.iter().any(|g| g != f && g.eq_ignore_ascii_case(f)))
        })
        .collect()
}

/// Walks `path` through structs, options and maps; records the fields of the struct it ends on.
struct Probe<'a, 'p> {
    path: &'p [&'p str],
    found: &'a RefCell<Option<&'static [&'static str]>>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Stop {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for Probe<'_, '_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            None => {
                *self.found.borrow_mut() = Some(fields);
                Err(Stop)
            }
            Some(_) => visitor.visit_map(OneKey { probe: Some(self) }),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            None => Err(Stop),
            Some(_) => visitor.visit_map(OneKey { probe: Some(self) }),
        }
    }

    /// Arrays of tables: the path's next step is an index.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            Some((index, rest)) if index.parse::<usize>().is_ok() => {
                visitor.visit_seq(OneElement {
                    probe: Some(Probe {
                        path: rest,
                        found: self.found,
                    }),
                })
            }
            _ => Err(Stop),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// A sequence of one element, probed further.
struct OneElement<'a, 'p> {
    probe: Option<Probe<'a, 'p>>,
}

impl<'de> de::SeqAccess<'de> for OneElement<'_, '_> {
    type Error = Stop;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        match self.probe.take() {
            Some(p) => seed.deserialize(p).map(Some),
            None => Ok(None),
        }
    }
}

/// A map holding one key, the path's next step, whose value is probed further.
struct OneKey<'a, 'p> {
    probe: Option<Probe<'a, 'p>>,
}

impl<'de> de::MapAccess<'de> for OneKey<'_, '_> {
    type Error = Stop;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.probe.as_ref().and_then(|p| p.path.first()) {
            Some(key) => {
                let key: de::value::StrDeserializer<'_, Stop> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        let probe = self.probe.take().ok_or(Stop)?;
        seed.deserialize(Probe {
            path: &probe.path[1..],
            found: probe.found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DynamicToml, FileConfig};

    #[test]
    fn reads_the_fields_of_each_level() {
        let top = known_keys::<FileConfig>(&[]);
        assert!(
            top.contains(&"defaultEntryPoints") && top.contains(&"docker"),
            "{top:?}"
        );
        assert!(
            !top.contains(&"defaultentrypoints"),
            "lower-case aliases left out"
        );
        let docker = known_keys::<FileConfig>(&["docker"]);
        assert!(docker.contains(&"exposedByDefault"), "{docker:?}");
        let ep = known_keys::<FileConfig>(&["entryPoints", "web"]);
        assert!(ep.contains(&"address") && ep.contains(&"tls"), "{ep:?}");
        let server = known_keys::<DynamicToml>(&["backends", "b", "servers", "s"]);
        assert!(
            server.contains(&"weight") && server.contains(&"url"),
            "{server:?}"
        );
        assert!(known_keys::<FileConfig>(&["logLevel"]).is_empty());
        let domain = known_keys::<FileConfig>(&["acme", "domains", "0"]);
        assert!(
            domain.contains(&"main") && domain.contains(&"sans"),
            "{domain:?}"
        );
    }
}
