//! Start-up recovery: requeue interrupted items, finish interrupted archiving, clean temp
//! files, regenerate every status view.

use super::{Effect, Scheduler};
use crate::model::{now_ms, ItemState};
use crate::outbox::clean_temp_files;
use crate::store::StoreError;

impl Scheduler {
    /// Brings the committed state and the outboxes back in step after any kind of stop.
    pub fn recover(&mut self) -> Result<(), StoreError> {
        let now = now_ms();
        let mut requeued = 0;
        for id in self.state.ids_in_state(ItemState::Running) {
            if let Some(next) = self
                .state
                .items
                .get(&id)
                .and_then(|i| i.recover(self.cfg.max_attempts, now).ok())
            {
                requeued += usize::from(next.state == ItemState::Queued);
                if next.state == ItemState::Failed {
                    tracing::warn!(item = id, path = %next.rel.display(), "item interrupted too often; failed");
                }
                self.state.put_item(next);
            }
        }
        let pending_originals: Vec<_> = self
            .state
            .items
            .values()
            .filter(|i| i.state == ItemState::Done && !i.original_handled)
            .map(|i| i.id)
            .collect();
        self.effects.extend(
            pending_originals
                .iter()
                .map(|id| Effect::HandleOriginal(*id)),
        );
        self.prune_claims();
        let mut cleaned = 0;
        for inbox in &self.cfg.inboxes {
            cleaned += clean_temp_files(&inbox.outbox, 32);
        }
        let ids: Vec<_> = self.state.batches.keys().copied().collect();
        self.state.dirty.extend(ids);
        self.refresh_batches();
        self.commit()?;
        self.run_effects();
        self.publish(true);
        tracing::info!(
            batches = self.state.batches.len(),
            items = self.state.items.len(),
            requeued,
            originals = pending_originals.len(),
            temp_files_removed = cleaned,
            "state recovered"
        );
        Ok(())
    }

    /// Claim records only matter while their claimed command file still waits for an
    /// answer; the others are dropped so they do not pile up.
    fn prune_claims(&mut self) {
        let claimed = self.cfg.control_dir.join(crate::control::CLAIMED_DIR);
        let stale: Vec<String> = self
            .claims
            .iter()
            .filter(|c| !claimed.join(c).exists())
            .cloned()
            .collect();
        for claim in stale {
            self.state.del_control(format!("claim:{claim}"));
            self.claims.remove(&claim);
        }
    }
}
