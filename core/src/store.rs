//! Where records live: the [`Store`] trait with compare-and-swap saves, and the
//! [`DenyList`] of revoked sessions that cached mode consults inside the fresh window; each
//! with a fixed-capacity `heapless` default for firmware and tests.

use core::fmt;
use core::hash::{Hash, Hasher};

use heapless::index_map::FnvIndexMap;

use crate::record::{Record, RecordError};
use crate::token::{SessionId, Subject};

/// A session id as the key of the fixed-capacity maps, with a cheaper `Hash` than the id's
/// own, which feeds the length and all 16 bytes to FNV-1a: 24 dependent multiplications per
/// lookup. This one feeds a single 32-bit word, the top of `(lo × K1 ⊕ hi) × K2` over the
/// id's two 64-bit halves (multiplicative hashing: every bit of the id moves the word): two
/// multiplications and four FNV-1a steps. The ids are 128 random bits from the caller's
/// CSPRNG and only the server inserts them, so no keyed hash is needed against collision
/// flooding (a lookup of a presented id only probes); structured test ids spread as well.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(SessionId);

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = self.0.0;
        let lo = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        let hi = u64::from_le_bytes([i, j, k, l, m, n, o, p]);
        let mixed =
            (lo.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ hi).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let [w0, w1, w2, w3, ..] = mixed.to_be_bytes();
        state.write_u32(u32::from_be_bytes([w0, w1, w2, w3]));
    }
}

type IdMap<V, const N: usize> = FnvIndexMap<Key, V, N>;

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Compare-and-swap failed: the stored write version is not the expected one (or the
    /// record exists when it was expected absent). Reload and decide again.
    Conflict,
    /// No room for another record, even after evicting expired ones.
    Full,
    /// The store could not be reached. Never a reason to log anyone out.
    Unavailable,
    /// The store does not support this operation (e.g. listing by subject).
    Unsupported,
    /// The stored bytes did not decode.
    Corrupt(RecordError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("session record changed concurrently"),
            StoreError::Full => f.write_str("session store is full"),
            StoreError::Unavailable => f.write_str("session store unavailable"),
            StoreError::Unsupported => f.write_str("operation not supported by this store"),
            StoreError::Corrupt(e) => write!(f, "stored session record is damaged: {e}"),
        }
    }
}

impl From<RecordError> for StoreError {
    fn from(e: RecordError) -> Self {
        StoreError::Corrupt(e)
    }
}

/// Storage for session records.
///
/// Contract, checked for every implementation by the same tests:
/// - `save` is a compare-and-swap: it succeeds only when the stored record's `version` equals
///   `expected_version` (`None`: no record is stored), and stores `record` whole.
/// - A save whose record is revoked must be durable before it returns `Ok` (e.g. Redis
///   `WAIT` for a replica, a committed transaction): the engine repairs a store that is
///   behind *forward*, so a lost revocation would revive a stolen session.
pub trait Store {
    /// The record of `id`, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Corrupt`].
    fn load(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError>;

    /// As [`load`](Store::load), but from the authoritative copy (the primary), for when a
    /// token shows the usual copy is behind. Stores without replicas keep the default.
    ///
    /// # Errors
    /// As [`load`](Store::load).
    fn load_primary(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
        self.load(id)
    }

    /// Stores `record` if the stored version is `expected_version` (`None`: absent).
    /// `now_ms` lets a bounded store evict expired records.
    ///
    /// # Errors
    /// [`StoreError::Conflict`], [`StoreError::Full`] or [`StoreError::Unavailable`].
    fn save(
        &mut self,
        record: &Record,
        expected_version: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError>;

    /// Removes the record of `id` (no error when absent).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    fn delete(&mut self, id: &SessionId) -> Result<(), StoreError>;

    /// Writes the ids of `subject`'s active sessions into `out` and returns how many there
    /// are in all (which may exceed `out.len()`).
    ///
    /// # Errors
    /// [`StoreError::Unsupported`] when the store keeps no subject index.
    fn list_by_subject(
        &mut self,
        subject: &Subject,
        out: &mut [SessionId],
    ) -> Result<usize, StoreError> {
        let _ = (subject, out);
        Err(StoreError::Unsupported)
    }
}

/// A fixed-capacity in-memory store of up to `N` records (`N` a power of two, > 1).
///
/// When full it evicts records past their absolute expiry, then revoked ones (both are
/// refused either way: an evicted session is an unknown session), and otherwise reports
/// [`StoreError::Full`]. One process only; wrap it in a mutex to share it between threads.
pub struct MemoryStore<const N: usize> {
    map: IdMap<Record, N>,
}

impl<const N: usize> MemoryStore<N> {
    /// An empty store.
    pub const fn new() -> Self {
        MemoryStore {
            map: FnvIndexMap::new(),
        }
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for MemoryStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for MemoryStore<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.map.len())
            .field("capacity", &N)
            .finish()
    }
}

impl<const N: usize> Store for MemoryStore<N> {
    fn load(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
        Ok(self.map.get(&Key(*id)).copied())
    }

    fn save(
        &mut self,
        record: &Record,
        expected_version: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        if let Some(stored) = self.map.get_mut(&Key(record.session_id)) {
            // An update: one lookup, the record written in place.
            if Some(stored.version) != expected_version {
                return Err(StoreError::Conflict);
            }
            *stored = *record;
            return Ok(());
        }
        if expected_version.is_some() {
            return Err(StoreError::Conflict);
        }
        if self.map.len() >= N {
            self.map.retain(|_, r| now_ms < r.expires_at);
            if self.map.len() >= N {
                self.map.retain(|_, r| r.is_active());
            }
        }
        match self.map.insert(Key(record.session_id), *record) {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::Full),
        }
    }

    fn delete(&mut self, id: &SessionId) -> Result<(), StoreError> {
        // `retain`, not `swap_remove`: heapless's removal indexes with a probe the optimiser
        // cannot bound, which the no-panic proof rejects; N is small, so O(N) is fine.
        self.map.retain(|k, _| k.0 != *id);
        Ok(())
    }

    fn list_by_subject(
        &mut self,
        subject: &Subject,
        out: &mut [SessionId],
    ) -> Result<usize, StoreError> {
        let mut total = 0usize;
        for record in self
            .map
            .values()
            .filter(|r| r.subject == *subject && r.is_active())
        {
            if let Some(slot) = out.get_mut(total) {
                *slot = record.session_id;
            }
            total = total.saturating_add(1);
        }
        Ok(total)
    }
}

/// The deny list is full: the revocation was not recorded here, so the caller must stop
/// trusting cached tokens until the entry it could not add would have expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenyListFull;

/// Revoked session ids that must be refused even inside a token's fresh window (cached mode).
pub trait DenyList {
    /// Refuses `id` until `until_ms`.
    ///
    /// # Errors
    /// [`DenyListFull`] when there is no room even after dropping expired entries.
    fn deny(&mut self, id: &SessionId, until_ms: u64, now_ms: u64) -> Result<(), DenyListFull>;

    /// True while `id` is refused.
    fn is_denied(&self, id: &SessionId, now_ms: u64) -> bool;
}

/// A fixed-capacity deny list of up to `N` ids (`N` a power of two, > 1).
pub struct MemoryDenyList<const N: usize> {
    map: IdMap<u64, N>,
}

impl<const N: usize> MemoryDenyList<N> {
    /// An empty deny list.
    pub const fn new() -> Self {
        MemoryDenyList {
            map: FnvIndexMap::new(),
        }
    }

    /// Number of entries, including ones that have lapsed but were not yet dropped.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<const N: usize> Default for MemoryDenyList<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for MemoryDenyList<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDenyList")
            .field("len", &self.map.len())
            .field("capacity", &N)
            .finish()
    }
}

impl<const N: usize> DenyList for MemoryDenyList<N> {
    fn deny(&mut self, id: &SessionId, until_ms: u64, now_ms: u64) -> Result<(), DenyListFull> {
        if let Some(until) = self.map.get_mut(&Key(*id)) {
            *until = (*until).max(until_ms);
            return Ok(());
        }
        if self.map.len() >= N {
            self.map.retain(|_, until| now_ms < *until);
        }
        self.map
            .insert(Key(*id), until_ms)
            .map(|_| ())
            .map_err(|_| DenyListFull)
    }

    fn is_denied(&self, id: &SessionId, now_ms: u64) -> bool {
        self.map.get(&Key(*id)).is_some_and(|until| now_ms < *until)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]
    use super::*;
    use crate::keys::Binding;
    use crate::record::{RevokeReason, State};
    use crate::token::Form;

    fn rec(id: u8, expires_at: u64) -> Record {
        Record::new(
            SessionId([id; 16]),
            None,
            Subject::from_u64(1),
            Form::Compact,
            0,
            expires_at,
            Binding::default(),
            1,
        )
    }

    #[test]
    fn save_is_compare_and_swap() {
        let mut s = MemoryStore::<4>::new();
        let r = rec(1, 100);
        assert_eq!(s.save(&r, Some(0), 0), Err(StoreError::Conflict));
        s.save(&r, None, 0).unwrap();
        assert_eq!(s.save(&r, None, 0), Err(StoreError::Conflict));
        let mut r2 = r;
        r2.version = 1;
        r2.counter = 1;
        s.save(&r2, Some(0), 0).unwrap();
        assert_eq!(
            s.save(&r2, Some(0), 0),
            Err(StoreError::Conflict),
            "stale writer loses"
        );
        assert_eq!(s.load(&r.session_id).unwrap(), Some(r2));
        s.delete(&r.session_id).unwrap();
        assert_eq!(s.load(&r.session_id).unwrap(), None);
    }

    #[test]
    fn full_store_evicts_expired_then_revoked_else_reports_full() {
        let mut s = MemoryStore::<2>::new();
        s.save(&rec(1, 100), None, 0).unwrap();
        s.save(&rec(2, 200), None, 0).unwrap();
        assert_eq!(s.save(&rec(3, 300), None, 50), Err(StoreError::Full));
        s.save(&rec(3, 300), None, 150).unwrap(); // record 1 expired at 100
        assert_eq!(s.load(&SessionId([1; 16])).unwrap(), None);
        let mut revoked = rec(2, 200);
        revoked.state = State::Revoked(RevokeReason::Reuse);
        revoked.revoked_at = 1;
        revoked.version = 1;
        s.save(&revoked, Some(0), 150).unwrap();
        s.save(&rec(4, 400), None, 150).unwrap(); // the revoked one made room
        assert_eq!(s.len(), 2);
        assert_eq!(s.save(&rec(5, 500), None, 150), Err(StoreError::Full));
    }

    #[test]
    fn lists_active_sessions_of_a_subject() {
        let mut s = MemoryStore::<8>::new();
        for i in 1..=3 {
            s.save(&rec(i, 100), None, 0).unwrap();
        }
        let mut other = rec(9, 100);
        other.subject = Subject::from_u64(2);
        s.save(&other, None, 0).unwrap();
        let mut out = [SessionId::default(); 2];
        assert_eq!(s.list_by_subject(&Subject::from_u64(1), &mut out), Ok(3));
        assert!(out.iter().all(|id| id.0[0] >= 1 && id.0[0] <= 3));
    }

    #[test]
    fn deny_list_expires_entries_and_reports_full() {
        let mut d = MemoryDenyList::<2>::new();
        let id = |b| SessionId([b; 16]);
        d.deny(&id(1), 100, 0).unwrap();
        d.deny(&id(2), 200, 0).unwrap();
        assert!(d.is_denied(&id(1), 99) && !d.is_denied(&id(1), 100));
        assert_eq!(d.deny(&id(3), 300, 50), Err(DenyListFull));
        assert!(
            d.is_denied(&id(1), 50),
            "a full list never drops a live entry"
        );
        d.deny(&id(3), 300, 100).unwrap();
        assert!(d.is_denied(&id(3), 299) && d.is_denied(&id(2), 150));
        d.deny(&id(3), 50, 100).unwrap(); // never shortens an entry
        assert!(d.is_denied(&id(3), 299));
    }
}
