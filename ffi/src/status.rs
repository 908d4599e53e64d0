//! The one status enum every C call returns, and the mapping from the core's errors.

use rolltoken::Error;
use rolltoken::cookie::CookieError;
use rolltoken::keys::KeyError;
use rolltoken::policy::PolicyError;
use rolltoken::record::RecordError;
use rolltoken::store::StoreError;
use rolltoken::token::TokenError;

/// The result of every call. `RT_STATUS_OK` is 0; the numeric values are stable ABI.
/// Groups: 1–9 the call itself, 100s keys and policy, 200s tokens, 300s records,
/// 400s the store, 500s cookies, 600s sessions.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rt_status {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL (or a NULL pointer came with a non-zero length).
    NullParameter = 1,
    /// An output buffer is shorter than the published maximum for it.
    BufferTooSmall = 2,
    /// Text that must be UTF-8 (a cookie name or path) is not.
    InvalidUtf8 = 3,
    /// An argument is out of range: an unknown enum value, an unparsable IP address.
    InvalidArgument = 4,
    /// An internal fault was caught at the boundary (a bug: please report it).
    Panic = 5,
    /// The keyring needs at least one key.
    KeyEmpty = 100,
    /// The keyring holds at most 4 keys.
    KeyTooMany = 101,
    /// Two keys share one key id.
    KeyDuplicateId = 102,
    /// The minting key id is not among the keys.
    KeyMintingMissing = 103,
    /// A key secret is not 32 bytes.
    KeyWrongLength = 104,
    /// An audience is longer than RT_MAX_AUDIENCE_LEN bytes.
    KeyAudienceTooLong = 105,
    /// The policy's values are inconsistent (see rt_policy).
    PolicyInvalid = 110,
    /// Token: empty.
    TokenEmpty = 200,
    /// Token: longer than any token.
    TokenTooLong = 201,
    /// Token: not a rolltoken prefix.
    TokenWrongPrefix = 202,
    /// Token: a rolltoken form of an unsupported version.
    TokenUnsupportedVersion = 203,
    /// Token: wrong length for its form.
    TokenWrongLength = 204,
    /// Token: not canonical base64url.
    TokenBadBase64 = 205,
    /// Token: reserved flags set.
    TokenBadFlags = 206,
    /// Token: names a key id not in the keyring.
    TokenUnknownKey = 207,
    /// Token: the tag does not verify.
    TokenBadTag = 208,
    /// Record: not RT_RECORD_LEN bytes.
    RecordWrongLength = 300,
    /// Record: not a rolltoken record.
    RecordForeign = 301,
    /// Record: unsupported layout version.
    RecordUnsupportedVersion = 302,
    /// Record: checksum mismatch (damaged).
    RecordCorrupt = 303,
    /// Record: impossible field values.
    RecordInvalid = 304,
    /// Store: compare-and-swap conflict (a session id collided, or contention persisted).
    StoreConflict = 400,
    /// Store: full.
    StoreFull = 401,
    /// Store: unavailable.
    StoreUnavailable = 402,
    /// Store: operation not supported.
    StoreUnsupported = 403,
    /// Cookie: an output buffer is too small.
    CookieBufferTooSmall = 500,
    /// Cookie: invalid name.
    CookieInvalidName = 501,
    /// Cookie: invalid value.
    CookieInvalidValue = 502,
    /// Cookie: invalid path.
    CookieInvalidPath = 503,
    /// Cookie: a `__Host-` name needs Secure.
    CookieHostPrefixNeedsSecure = 504,
    /// Cookie: a `__Host-` name needs Path=/.
    CookieHostPrefixNeedsRootPath = 505,
    /// Cookie: a `__Secure-` name needs Secure.
    CookieSecurePrefixNeedsSecure = 506,
    /// Cookie: SameSite=None needs Secure.
    CookieSameSiteNoneNeedsSecure = 507,
    /// Cookie: the name appears twice with different values (fail closed).
    CookieDuplicate = 508,
    /// Cookie: the header holds control characters.
    CookieMalformed = 509,
    /// Cookie: the header is longer than 8192 bytes.
    CookieTooLong = 510,
    /// Login needs a non-zero subject.
    AnonymousSubject = 600,
}

impl rt_status {
    /// A short static description.
    pub(crate) fn message(self) -> &'static [u8] {
        match self {
            rt_status::Ok => b"ok\0",
            rt_status::NullParameter => b"a required pointer was NULL\0",
            rt_status::BufferTooSmall => b"output buffer too small\0",
            rt_status::InvalidUtf8 => b"text is not UTF-8\0",
            rt_status::InvalidArgument => b"argument out of range\0",
            rt_status::Panic => b"internal fault caught at the boundary\0",
            rt_status::KeyEmpty => b"the keyring needs at least one key\0",
            rt_status::KeyTooMany => b"the keyring holds at most 4 keys\0",
            rt_status::KeyDuplicateId => b"two keys share one key id\0",
            rt_status::KeyMintingMissing => b"the minting key id is not in the keyring\0",
            rt_status::KeyWrongLength => b"a key secret must be 32 bytes\0",
            rt_status::KeyAudienceTooLong => b"an audience is at most 64 bytes\0",
            rt_status::PolicyInvalid => b"inconsistent policy\0",
            rt_status::TokenEmpty => b"empty token\0",
            rt_status::TokenTooLong => b"token too long\0",
            rt_status::TokenWrongPrefix => b"not a rolltoken token\0",
            rt_status::TokenUnsupportedVersion => b"unsupported token version\0",
            rt_status::TokenWrongLength => b"wrong token length\0",
            rt_status::TokenBadBase64 => b"token is not canonical base64url\0",
            rt_status::TokenBadFlags => b"token has unknown flags\0",
            rt_status::TokenUnknownKey => b"token names an unknown key id\0",
            rt_status::TokenBadTag => b"token tag does not verify\0",
            rt_status::RecordWrongLength => b"session record has the wrong length\0",
            rt_status::RecordForeign => b"not a rolltoken session record\0",
            rt_status::RecordUnsupportedVersion => b"unsupported session record version\0",
            rt_status::RecordCorrupt => b"session record checksum mismatch\0",
            rt_status::RecordInvalid => b"session record holds an impossible value\0",
            rt_status::StoreConflict => b"session record changed concurrently\0",
            rt_status::StoreFull => b"session store is full\0",
            rt_status::StoreUnavailable => b"session store unavailable\0",
            rt_status::StoreUnsupported => b"operation not supported by this store\0",
            rt_status::CookieBufferTooSmall => b"cookie buffer too small\0",
            rt_status::CookieInvalidName => b"invalid cookie name\0",
            rt_status::CookieInvalidValue => b"invalid cookie value\0",
            rt_status::CookieInvalidPath => b"invalid cookie path\0",
            rt_status::CookieHostPrefixNeedsSecure => b"a __Host- cookie needs Secure\0",
            rt_status::CookieHostPrefixNeedsRootPath => b"a __Host- cookie needs Path=/\0",
            rt_status::CookieSecurePrefixNeedsSecure => b"a __Secure- cookie needs Secure\0",
            rt_status::CookieSameSiteNoneNeedsSecure => b"SameSite=None needs Secure\0",
            rt_status::CookieDuplicate => b"cookie appears twice with different values\0",
            rt_status::CookieMalformed => b"cookie header holds control characters\0",
            rt_status::CookieTooLong => b"cookie header too long\0",
            rt_status::AnonymousSubject => b"login needs a non-zero subject\0",
        }
    }
}

impl From<KeyError> for rt_status {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Empty => rt_status::KeyEmpty,
            KeyError::TooMany => rt_status::KeyTooMany,
            KeyError::DuplicateId => rt_status::KeyDuplicateId,
            KeyError::MintingKeyMissing => rt_status::KeyMintingMissing,
            KeyError::WrongLength => rt_status::KeyWrongLength,
            KeyError::AudienceTooLong => rt_status::KeyAudienceTooLong,
        }
    }
}

impl From<PolicyError> for rt_status {
    fn from(_: PolicyError) -> Self {
        rt_status::PolicyInvalid
    }
}

impl From<TokenError> for rt_status {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Empty => rt_status::TokenEmpty,
            TokenError::TooLong => rt_status::TokenTooLong,
            TokenError::WrongPrefix => rt_status::TokenWrongPrefix,
            TokenError::UnsupportedVersion => rt_status::TokenUnsupportedVersion,
            TokenError::WrongLength => rt_status::TokenWrongLength,
            TokenError::BadBase64 => rt_status::TokenBadBase64,
            TokenError::BadFlags => rt_status::TokenBadFlags,
            TokenError::UnknownKey => rt_status::TokenUnknownKey,
            TokenError::BadTag => rt_status::TokenBadTag,
        }
    }
}

impl From<RecordError> for rt_status {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::WrongLength => rt_status::RecordWrongLength,
            RecordError::Foreign => rt_status::RecordForeign,
            RecordError::UnsupportedVersion => rt_status::RecordUnsupportedVersion,
            RecordError::Corrupt => rt_status::RecordCorrupt,
            RecordError::Invalid => rt_status::RecordInvalid,
        }
    }
}

impl From<StoreError> for rt_status {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => rt_status::StoreConflict,
            StoreError::Full => rt_status::StoreFull,
            StoreError::Unavailable => rt_status::StoreUnavailable,
            StoreError::Unsupported => rt_status::StoreUnsupported,
            StoreError::Corrupt(r) => r.into(),
        }
    }
}

impl From<CookieError> for rt_status {
    fn from(e: CookieError) -> Self {
        match e {
            CookieError::BufferTooSmall => rt_status::CookieBufferTooSmall,
            CookieError::InvalidName => rt_status::CookieInvalidName,
            CookieError::InvalidValue => rt_status::CookieInvalidValue,
            CookieError::InvalidPath => rt_status::CookieInvalidPath,
            CookieError::HostPrefixNeedsSecure => rt_status::CookieHostPrefixNeedsSecure,
            CookieError::HostPrefixNeedsRootPath => rt_status::CookieHostPrefixNeedsRootPath,
            CookieError::SecurePrefixNeedsSecure => rt_status::CookieSecurePrefixNeedsSecure,
            CookieError::SameSiteNoneNeedsSecure => rt_status::CookieSameSiteNoneNeedsSecure,
            CookieError::Duplicate => rt_status::CookieDuplicate,
            CookieError::Malformed => rt_status::CookieMalformed,
            CookieError::TooLong => rt_status::CookieTooLong,
        }
    }
}

impl From<Error> for rt_status {
    fn from(e: Error) -> Self {
        match e {
            Error::Key(e) => e.into(),
            Error::Policy(e) => e.into(),
            Error::Token(e) => e.into(),
            Error::Record(e) => e.into(),
            Error::Store(e) => e.into(),
            Error::Cookie(e) => e.into(),
            Error::AnonymousSubject => rt_status::AnonymousSubject,
        }
    }
}

/// Every status, for lookups by number.
pub(crate) const ALL_STATUSES: [rt_status; 43] = [
    rt_status::Ok,
    rt_status::NullParameter,
    rt_status::BufferTooSmall,
    rt_status::InvalidUtf8,
    rt_status::InvalidArgument,
    rt_status::Panic,
    rt_status::KeyEmpty,
    rt_status::KeyTooMany,
    rt_status::KeyDuplicateId,
    rt_status::KeyMintingMissing,
    rt_status::KeyWrongLength,
    rt_status::KeyAudienceTooLong,
    rt_status::PolicyInvalid,
    rt_status::TokenEmpty,
    rt_status::TokenTooLong,
    rt_status::TokenWrongPrefix,
    rt_status::TokenUnsupportedVersion,
    rt_status::TokenWrongLength,
    rt_status::TokenBadBase64,
    rt_status::TokenBadFlags,
    rt_status::TokenUnknownKey,
    rt_status::TokenBadTag,
    rt_status::RecordWrongLength,
    rt_status::RecordForeign,
    rt_status::RecordUnsupportedVersion,
    rt_status::RecordCorrupt,
    rt_status::RecordInvalid,
    rt_status::StoreConflict,
    rt_status::StoreFull,
    rt_status::StoreUnavailable,
    rt_status::StoreUnsupported,
    rt_status::CookieBufferTooSmall,
    rt_status::CookieInvalidName,
    rt_status::CookieInvalidValue,
    rt_status::CookieInvalidPath,
    rt_status::CookieHostPrefixNeedsSecure,
    rt_status::CookieHostPrefixNeedsRootPath,
    rt_status::CookieSecurePrefixNeedsSecure,
    rt_status::CookieSameSiteNoneNeedsSecure,
    rt_status::CookieDuplicate,
    rt_status::CookieMalformed,
    rt_status::CookieTooLong,
    rt_status::AnonymousSubject,
];
