//! Which changes to open orders reach the checkpoint. The book hands over every open order
//! changed since the last save ([`super::OrderBook::take_changes`]); the journal remembers
//! which keys the checkpoint holds, so that an order opened and closed between two saves is
//! never written at all and a closed one is removed only if it was written.

use super::book::{IdChanges, OpenOrderChanges};
use super::OpenOrder;
use rustc_hash::FxHashSet;
use std::sync::Arc;

/// The keys the checkpoint holds, and the table handed back to the book after each save.
#[derive(Debug, Default)]
pub struct OpenOrderJournal {
    saved: FxHashSet<Arc<str>>,
    // Emptied, its room kept: a busy period allocates nothing anew on the order path.
    spare: OpenOrderChanges,
    spare_ids: IdChanges,
}

impl OpenOrderJournal {
    /// A journal for a checkpoint that holds `saved` already (the orders restored at start).
    pub fn holding(saved: impl IntoIterator<Item = Arc<str>>) -> Self {
        Self {
            saved: saved.into_iter().collect(),
            ..Self::default()
        }
    }

    /// The table to hand the book for the next period (empty, its room kept).
    pub fn take_spare(&mut self) -> OpenOrderChanges {
        std::mem::take(&mut self.spare)
    }

    /// The id table to hand the book for the next period.
    pub fn take_spare_ids(&mut self) -> IdChanges {
        std::mem::take(&mut self.spare_ids)
    }

    /// Keeps the id table just written, emptied, as the next spare.
    pub fn keep_spare_ids(&mut self, mut ids: IdChanges) {
        ids.clear();
        self.spare_ids = ids;
    }

    /// What to write for `changes`: each order still open, and `None` to remove a key the
    /// checkpoint holds. The table is emptied and kept as the next spare.
    pub fn writes(&mut self, mut changes: OpenOrderChanges) -> Vec<(Arc<str>, Option<OpenOrder>)> {
        let saved = &mut self.saved;
        let writes = changes
            .drain()
            .filter(|(key, order)| match order {
                Some(_) => {
                    saved.insert(key.clone());
                    true
                }
                None => saved.remove(key),
            })
            .collect();
        self.spare = changes;
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Side;
    use chrono::Utc;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn open(id: &str, filled: Decimal) -> Option<OpenOrder> {
        Some(OpenOrder {
            order_id: Arc::from(id),
            asset: Arc::from("AAPL"),
            side: Side::Buy,
            quantity: dec!(10),
            filled,
            limit_price: None,
            since: Utc::now(),
            expires_at: None,
        })
    }

    fn table(changes: Vec<(&str, Option<OpenOrder>)>) -> OpenOrderChanges {
        changes
            .into_iter()
            .map(|(k, o)| (Arc::from(k), o))
            .collect()
    }

    fn keys(mut w: Vec<(Arc<str>, Option<OpenOrder>)>) -> Vec<(String, Option<String>)> {
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w.into_iter()
            .map(|(k, o)| (k.to_string(), o.map(|o| o.filled.to_string())))
            .collect()
    }

    #[test]
    fn test_writes_when_opened_and_closed_between_saves_then_nothing_written() {
        let mut j = OpenOrderJournal::default();
        assert!(j.writes(table(vec![("o1", None)])).is_empty());
    }

    #[test]
    fn test_writes_when_open_then_written_and_removed_once_saved() {
        let mut j = OpenOrderJournal::default();
        let w = j.writes(table(vec![
            ("o1", open("o1", dec!(4))),
            ("o2", open("o2", dec!(0))),
        ]));
        assert_eq!(
            keys(w),
            [
                ("o1".into(), Some("4".into())),
                ("o2".into(), Some("0".into()))
            ]
        );
        let w = j.writes(table(vec![("o1", None), ("o3", None)]));
        assert_eq!(keys(w), [("o1".into(), None)], "o3 was never saved");
        assert!(
            j.writes(table(vec![("o1", None)])).is_empty(),
            "removed once"
        );
    }

    #[test]
    fn test_writes_when_restored_keys_close_then_removed() {
        let mut j = OpenOrderJournal::holding([Arc::from("r1")]);
        let w = j.writes(table(vec![("r1", None)]));
        assert_eq!(keys(w), [("r1".into(), None)]);
    }

    #[test]
    fn test_spare_when_written_then_handed_back_empty_with_its_room() {
        let mut j = OpenOrderJournal::default();
        let mut changes = OpenOrderChanges::with_capacity_and_hasher(64, Default::default());
        changes.insert("o1".into(), open("o1", dec!(0)));
        j.writes(changes);
        let spare = j.take_spare();
        assert!(spare.is_empty() && spare.capacity() >= 64);
    }
}
