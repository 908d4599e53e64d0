//! Thread-safety as promised in the docs: a keyring is immutable and shared by reference
//! across threads; a façade, its stores and tokens move between threads.

use rolltoken::keys::Keyring;
use rolltoken::sessions::Sessions;
use rolltoken::store::{MemoryDenyList, MemoryStore};
use rolltoken::token::TokenBuf;

fn send_and_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn shared_and_moved_types() {
    send_and_sync::<Keyring>();
    send_and_sync::<TokenBuf>();
    send_and_sync::<rolltoken::record::Record>();
    send::<Sessions<&'static Keyring, MemoryStore<8>, MemoryDenyList<8>>>();
    // A keyring shared by reference with several threads, each minting and verifying.
    let keys = Keyring::new(&[rolltoken::keys::KeyMaterial::new(1, [3; 32])], 1).expect("keyring");
    std::thread::scope(|s| {
        for i in 0..4u8 {
            let keys = &keys;
            s.spawn(move || {
                let sid = rolltoken::SessionId([i; 16]);
                let t = rolltoken::token::mint_compact(keys, 1, &sid, u64::from(i)).expect("mint");
                let Ok(rolltoken::token::Parsed::Compact(c)) =
                    rolltoken::token::parse(t.as_bytes())
                else {
                    unreachable!("a minted token parses")
                };
                assert!(c.matches(keys, u64::from(i)).expect("known key"));
            });
        }
    });
}
