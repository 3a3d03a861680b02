//! Finds the line a config key is on, so every error can name it.

use toml_edit::{ImDocument, Item, Table};

/// A parsed copy of the source kept only to look up key positions.
pub struct Lines {
    source: String,
    doc: Option<ImDocument<String>>,
}

impl Lines {
    pub fn new(source: &str) -> Self {
        Lines {
            source: source.to_string(),
            doc: ImDocument::parse(source.to_string()).ok(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.source.len());
        self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Line of `key` at the top level, or of `key` in the `index`-th `[[inbox]]` table
    /// (or of that table's header when the key is absent).
    pub fn line_of_key(&self, inbox: Option<usize>, key: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let table = match inbox {
            None => doc.as_table(),
            Some(i) => inbox_table(doc.as_table(), i)?,
        };
        let span = table
            .key(key)
            .and_then(|k| k.span())
            .or_else(|| table.span())?;
        Some(self.line_of(span.start))
    }
}

fn inbox_table(root: &Table, index: usize) -> Option<&Table> {
    match root.get("inbox")? {
        Item::ArrayOfTables(tables) => tables.get(index),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_and_inbox_keys() {
        let src = "concurrency = 2\n\n[[inbox]]\nname = \"a\"\n\n[[inbox]]\nname = \"b\"\noutbox = \"/x\"\n";
        let lines = Lines::new(src);
        assert_eq!(lines.line_of_key(None, "concurrency"), Some(1));
        assert_eq!(lines.line_of_key(Some(1), "outbox"), Some(8));
        assert_eq!(lines.line_of_key(Some(0), "name"), Some(4));
        assert_eq!(lines.line_of(0), 1);
    }
}
