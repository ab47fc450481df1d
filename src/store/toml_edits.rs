//! Hand-edited TOML, kept as written: a file is read strictly (an unknown key, such as a typo,
//! is an error naming its line, because it would otherwise be ignored) and changed in place,
//! so comments, order, formatting and the user's own `x-` keys survive every write.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml_edit::{DocumentMut, Item, Table, TableLike};

use crate::error::{Error, Result};

/// Keys starting with this are the user's: Latchkey ignores them and keeps them.
pub const USER_KEY_PREFIX: &str = "x-";

/// Where a file's entries are and which keys they may hold.
pub struct Layout {
    /// The top-level key holding the entries (`profiles`, `account`).
    pub key: &'static str,
    /// Entries are a table of named tables (`[profiles.NAME]`), else an array of tables.
    pub named: bool,
    /// The keys an entry may hold (the tables under them, request parameters, are free-form).
    pub fields: &'static [&'static str],
}

impl Layout {
    /// Entries of `T` as a table of named tables under `key` (`[profiles.NAME]`).
    pub fn named<T: DeserializeOwned>(key: &'static str) -> Self {
        Layout {
            key,
            named: true,
            fields: fields_of::<T>(),
        }
    }

    /// Entries of `T` as an array of tables under `key` (`[[account]]`).
    pub fn array<T: DeserializeOwned>(key: &'static str) -> Self {
        Layout {
            key,
            named: false,
            fields: fields_of::<T>(),
        }
    }
}

/// A file as read: its document (to edit in place), absent when there is no file yet.
pub struct Parsed<T> {
    pub doc: Option<DocumentMut>,
    pub value: T,
}

fn config_error(path: &Path, detail: String) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        detail,
    }
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => format!("line {}: ", line_number(text, span.start)),
        None => String::new(),
    }
}

fn line_number(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads and checks `path`; a missing file is an empty one.
pub fn read<T: DeserializeOwned + Default>(path: &Path, layout: &Layout) -> Result<Parsed<T>> {
    let Some(text) = read_text(path)? else {
        return Ok(Parsed {
            doc: None,
            value: T::default(),
        });
    };
    let (doc, value) = parse(&text, layout).map_err(|detail| config_error(path, detail))?;
    Ok(Parsed {
        doc: Some(doc),
        value,
    })
}

/// The text of `path`; `None` when there is no such file.
fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// What [`read`] finds in `path`, without the document, for reads that change nothing. The
/// agent looks an account up several times per request, and parsing `accounts.toml` strictly
/// (twice: the document for the key check, then the values) was most of its work with 20
/// accounts; the file is still read each time, and parsed again only when its text changed.
pub fn read_value<T>(path: &Path, layout: &Layout) -> Result<T>
where
    T: DeserializeOwned + Default + Clone + Send + Sync + 'static,
{
    use std::any::{Any, TypeId};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::{Mutex, PoisonError};
    /// The last text parsed per file, type and layout (the strictness it was checked with), and
    /// its value: a few entries per config dir.
    type Key = (PathBuf, TypeId, &'static str, bool);
    type Parses = BTreeMap<Key, (String, Box<dyn Any + Send + Sync>)>;
    static PARSED: Mutex<Parses> = Mutex::new(BTreeMap::new());
    let parsed = || PARSED.lock().unwrap_or_else(PoisonError::into_inner);

    let key = (
        path.to_path_buf(),
        TypeId::of::<T>(),
        layout.key,
        layout.named,
    );
    let Some(text) = read_text(path)? else {
        // A file gone (a test's directory, a config dir removed) keeps nothing behind.
        parsed().remove(&key);
        return Ok(T::default());
    };
    if let Some((seen, value)) = parsed().get(&key)
        && *seen == text
        && let Some(value) = value.downcast_ref::<T>()
    {
        return Ok(value.clone());
    }
    let (_, value) = parse::<T>(&text, layout).map_err(|detail| config_error(path, detail))?;
    parsed().insert(key, (text, Box::new(value.clone())));
    Ok(value)
}

/// Checks and reads `text` as `read` does a file (the same strict rules for a file received
/// from elsewhere, e.g. an import); the error is what is wrong, with its line.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    layout: &Layout,
) -> std::result::Result<(DocumentMut, T), String> {
    const FIX: &str = "; fix the file by hand (nothing was written)";
    let doc = toml_edit::Document::parse(text)
        .map_err(|e| format!("{}{}{FIX}", line_of(text, e.span()), e.message().trim()))?;
    if let Some((span, message)) = unknown_key(doc.as_table(), layout) {
        return Err(format!(
            "{}{message}; Latchkey would ignore it. Fix the key, or start its name with `{USER_KEY_PREFIX}` to keep a note of your own (nothing was written)",
            line_of(text, span)
        ));
    }
    let value = toml::from_str(text)
        .map_err(|e| format!("{}{}{FIX}", line_of(text, e.span()), e.message().trim()))?;
    Ok((doc.into_mut(), value))
}

/// The line of each named entry's table header under `key` (`[profiles.NAME]`), for errors
/// about an entry as a whole.
pub fn entry_lines(text: &str, key: &str) -> std::collections::BTreeMap<String, usize> {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Default::default();
    };
    let Some(entries) = doc.as_table().get(key).and_then(Item::as_table_like) else {
        return Default::default();
    };
    entries
        .iter()
        .filter_map(|(name, item)| {
            let span = item
                .as_table()
                .and_then(|t| t.span())
                .or_else(|| entries.key(name)?.span())?;
            Some((name.to_string(), line_number(text, span.start)))
        })
        .collect()
}

type Found = (Option<std::ops::Range<usize>>, String);

/// The first key Latchkey does not know, with its span and a message naming it.
fn unknown_key(root: &Table, layout: &Layout) -> Option<Found> {
    let user = |k: &str| k.starts_with(USER_KEY_PREFIX);
    let unknown = |table: &dyn TableLike, k: &str, known: &[&str], place: &str| -> Option<Found> {
        let key = table.key(k)?;
        let hint = suggestion(k, known)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        Some((key.span(), format!("unknown key `{k}`{place}{hint}")))
    };
    for (k, _) in root.iter() {
        if k == layout.key {
            continue;
        }
        if !user(k) {
            return unknown(root, k, &[layout.key], "");
        }
    }
    let entries: Vec<(String, &dyn TableLike)> = match root.get(layout.key) {
        Some(item) if layout.named => item
            .as_table_like()
            .into_iter()
            .flat_map(|t| t.iter())
            .filter_map(|(name, entry)| {
                let place = format!(" in [{}.{}]", layout.key, toml_edit::Key::new(name));
                Some((place, entry.as_table_like()?))
            })
            .collect(),
        Some(Item::ArrayOfTables(array)) => array
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!(" in [[{}]] #{}", layout.key, i + 1),
                    t as &dyn TableLike,
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    for (place, entry) in entries {
        for (k, _) in entry.iter() {
            if !layout.fields.contains(&k) && !user(k) {
                return unknown(entry, k, layout.fields, &place);
            }
        }
    }
    None
}

/// The known key a typo most likely meant: at most two edits away.
fn suggestion<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (diagonal + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                diagonal = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    };
    known
        .iter()
        .map(|k| (distance(&typo.to_lowercase().replace('-', "_"), k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// The field names `T` deserializes, read from its derived `Deserialize` (so they cannot drift).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor, value::Error};
    struct Probe(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Probe {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            self.0 = fields;
            Err(Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut probe = Probe(&[]);
    let _ = T::deserialize(&mut probe);
    probe.0
}

/// `value` as a TOML table: what is compared to tell which keys changed.
fn as_table<T: Serialize>(value: &T) -> Result<toml::Table> {
    toml::Table::try_from(value).map_err(|e| Error::InvalidInput(format!("cannot store: {e}")))
}

/// `value` as a document table, ready to go into another document.
fn render<T: Serialize>(value: &T) -> Result<Table> {
    let text = toml::to_string_pretty(value)
        .map_err(|e| Error::InvalidInput(format!("cannot store: {e}")))?;
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| Error::InvalidInput(format!("cannot store: {e}")))?;
    let mut table = doc.as_table().clone();
    forget_positions(&mut table);
    table.set_implicit(false);
    table.decor_mut().set_prefix("\n");
    Ok(table)
}

/// Tables taken from another document lose their places there; they follow their parent here.
fn forget_positions(table: &mut Table) {
    table.set_position(None);
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(t) => forget_positions(t),
            Item::ArrayOfTables(array) => array.iter_mut().for_each(forget_positions),
            _ => {}
        }
    }
}

/// Changes `entry` from `old` to `new`, touching only the keys whose values changed; a changed
/// value keeps the decoration (spacing, trailing comment) of the one it replaces.
fn merge_entry<T: Serialize>(entry: &mut dyn TableLike, old: &T, new: &T) -> Result<()> {
    let (old, new_table) = (as_table(old)?, as_table(new)?);
    if old == new_table {
        return Ok(());
    }
    let fresh = render(new)?;
    for k in old.keys().filter(|k| !new_table.contains_key(*k)) {
        entry.remove(k);
    }
    for (k, value) in &new_table {
        let Some(item) = fresh.get(k).filter(|_| old.get(k) != Some(value)) else {
            continue;
        };
        match entry.get_mut(k) {
            Some(Item::Value(existing)) => {
                if let Ok(mut replacement) = item.clone().into_value() {
                    *replacement.decor_mut() = existing.decor().clone();
                    *existing = replacement;
                }
            }
            Some(Item::Table(existing)) if item.is_table() => {
                let decor = existing.decor().clone();
                *existing = item.as_table().cloned().unwrap_or_default();
                *existing.decor_mut() = decor;
            }
            Some(existing) => *existing = item.clone(),
            None => {
                entry.insert(k, item.clone());
            }
        }
    }
    Ok(())
}

/// The comments of a file with nothing else in it (the parser keeps them after the last table),
/// to go before the first entry added instead.
fn take_lone_comments(doc: &mut DocumentMut) -> Option<String> {
    let text = doc.trailing().as_str().unwrap_or_default().to_string();
    if !doc.as_table().is_empty() || text.trim().is_empty() {
        return None;
    }
    doc.set_trailing("");
    Some(format!("{}\n\n", text.trim_end()))
}

/// Applies the change from `before` to `after` to the named entries under `key`.
pub fn merge_named<T: Serialize>(
    doc: &mut DocumentMut,
    key: &str,
    before: &std::collections::BTreeMap<String, T>,
    after: &std::collections::BTreeMap<String, T>,
) -> Result<()> {
    let mut lead = take_lone_comments(doc);
    let item = doc.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    let Some(entries) = item.as_table_like_mut() else {
        return Err(Error::InvalidInput(format!("`{key}` is not a table")));
    };
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        entries.remove(name);
    }
    for (name, new) in after {
        match (before.get(name), entries.get_mut(name)) {
            (Some(old), Some(slot)) if slot.is_table_like() => {
                let slot = slot.as_table_like_mut().expect("checked above");
                merge_entry(slot, old, new)?;
            }
            _ => {
                let mut table = render(new)?;
                if let Some(lead) = lead.take() {
                    table.decor_mut().set_prefix(lead);
                }
                entries.insert(name, Item::Table(table));
            }
        }
    }
    Ok(())
}

/// Applies the change from `before` to `after` to the array of tables under `key`; entries
/// are matched by `id`, new ones are appended.
pub fn merge_array<T: Serialize, K: PartialEq>(
    doc: &mut DocumentMut,
    key: &str,
    before: &[T],
    after: &[T],
    id: impl Fn(&T) -> K,
) -> Result<()> {
    let mut lead = take_lone_comments(doc);
    let mut before = before;
    if !matches!(doc.get(key), None | Some(Item::ArrayOfTables(_))) {
        // An inline array the user wrote: written again as tables rather than guessed at.
        doc.remove(key);
        before = &[];
    }
    let array = doc
        .entry(key)
        .or_insert_with(|| Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .expect("an array of tables");
    let mut keep = Vec::with_capacity(array.len());
    for (i, table) in array.iter_mut().enumerate() {
        let old = before.get(i);
        let new = old.and_then(|old| after.iter().find(|a| id(a) == id(old)));
        if let (Some(old), Some(new)) = (old, new) {
            merge_entry(table, old, new)?;
        }
        keep.push(new.is_some());
    }
    let mut index = 0;
    array.retain(|_| {
        index += 1;
        keep[index - 1]
    });
    for new in after
        .iter()
        .filter(|a| !before.iter().any(|b| id(b) == id(a)))
    {
        let mut table = render(new)?;
        if let Some(lead) = lead.take() {
            table.decor_mut().set_prefix(lead);
        }
        array.push(table);
    }
    Ok(())
}
