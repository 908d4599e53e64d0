//! `rt_keyring`: the keys, shared by every rt_sessions built from them.

use std::ptr;
use std::sync::Arc;

use rolltoken::keys::{KeyMaterial, Keyring, MAX_KEYS};

use crate::boundary::{self, guard};
use crate::status::rt_status;

/// A keyring: up to 4 keys (32-byte secret, 1-byte id), one minting, all verifying.
///
/// **Ownership:** created by rt_keyring_new, freed by rt_keyring_free. An rt_sessions built
/// from it keeps its own reference, so the keyring may be freed first.
/// **Thread safety:** immutable after creation; may be shared by any number of threads.
/// Secrets are zeroized when the last reference goes.
#[derive(Debug)]
pub struct rt_keyring {
    pub(crate) keys: Arc<Keyring>,
}

/// Builds a keyring from `count` keys: key `i` has id `key_ids[i]` and the 32-byte secret
/// at `secrets + 32 * i`. `minting_id` names the key that mints new tokens. On success
/// `*out` owns a new keyring. The same as rt_keyring_new_for_audience with no audience.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_KEY_EMPTY`, `RT_STATUS_KEY_TOO_MANY`,
/// `RT_STATUS_KEY_DUPLICATE_ID`, `RT_STATUS_KEY_MINTING_MISSING`.
///
/// # Safety
/// `key_ids` points to `count` bytes and `secrets` to `32 * count` bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_new(
    key_ids: *const u8,
    secrets: *const u8,
    count: usize,
    minting_id: u8,
    out: *mut *mut rt_keyring,
) -> rt_status {
    // SAFETY: the caller's contract is this function's; an empty audience needs no pointer.
    unsafe { rt_keyring_new_for_audience(key_ids, secrets, count, minting_id, ptr::null(), 0, out) }
}

/// Like rt_keyring_new, for one audience: `audience_len` bytes naming the application (at
/// most RT_MAX_AUDIENCE_LEN; 0 = none, then `audience` may be NULL). The subkeys are derived
/// from the secrets and the audience, so applications sharing secrets but not the audience
/// refuse each other's tokens (RT_STATUS_TOKEN_BAD_TAG). The audience is not carried in
/// tokens: issuer and verifier configure the same one.
///
/// # Errors
/// Those of rt_keyring_new, and `RT_STATUS_KEY_AUDIENCE_TOO_LONG`.
///
/// # Safety
/// As rt_keyring_new; `audience` points to `audience_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_new_for_audience(
    key_ids: *const u8,
    secrets: *const u8,
    count: usize,
    minting_id: u8,
    audience: *const u8,
    audience_len: usize,
    out: *mut *mut rt_keyring,
) -> rt_status {
    guard(|| {
        boundary::need(out)?;
        if count == 0 {
            return Err(rt_status::KeyEmpty);
        }
        if count > MAX_KEYS {
            return Err(rt_status::KeyTooMany);
        }
        // SAFETY: the caller passes `count` ids and `32 * count` secret bytes.
        let ids = unsafe { boundary::bytes(key_ids, count) }?;
        let secret_len = count.checked_mul(32).ok_or(rt_status::InvalidArgument)?;
        // SAFETY: as above.
        let raw = unsafe { boundary::bytes(secrets, secret_len) }?;
        // Checked before the bytes are touched: no slice longer than the limit is ever made.
        if audience_len > crate::RT_MAX_AUDIENCE_LEN {
            return Err(rt_status::KeyAudienceTooLong);
        }
        // SAFETY: the caller passes `audience_len` audience bytes.
        let audience = unsafe { boundary::bytes(audience, audience_len) }?;
        let mut material: Vec<KeyMaterial> = Vec::with_capacity(count);
        for (id, secret) in ids.iter().zip(raw.chunks_exact(32)) {
            material.push(KeyMaterial::from_slice(*id, secret)?);
        }
        let keys = Keyring::for_audience(&material, minting_id, audience)?;
        let handle = Box::new(rt_keyring {
            keys: Arc::new(keys),
        });
        // SAFETY: checked non-NULL above.
        unsafe { boundary::put(out, Box::into_raw(handle)) }
    })
}

/// Frees a keyring (NULL: nothing happens).
///
/// # Safety
/// `keyring` comes from rt_keyring_new and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_free(keyring: *mut rt_keyring) {
    if !keyring.is_null() {
        // SAFETY: by contract, from Box::into_raw in rt_keyring_new and freed once.
        drop(unsafe { Box::from_raw(keyring) });
    }
}
