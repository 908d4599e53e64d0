package rolltoken

// #include "rolltoken.h"
import "C"

import "errors"

// Error is a failure reported by the rolltoken library: an rt_status code and its
// description (rt_status_str). Compare errors with errors.Is against the Err* values, which
// are *Error values themselves; two *Error values match when their codes are equal.
// The message never contains a token, a key or a session id.
type Error struct {
	// Code is the rt_status value (stable ABI: 1-9 the call itself, 100s keys and policy,
	// 200s tokens, 300s records, 400s the store, 500s cookies, 600s sessions).
	Code uint32
	// Message is the library's static description of Code.
	Message string
}

// Error implements the error interface: "rolltoken: " and the description.
func (e *Error) Error() string { return "rolltoken: " + e.Message }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && t.Code == e.Code
}

// ErrClosed is returned by calls on a closed or nil *Keyring or *Sessions.
var ErrClosed = errors.New("rolltoken: use of a closed or nil handle")

// The rt_status values, one error each.
var (
	// ErrNullParameter: a required pointer was NULL (a bug in this binding if ever seen).
	ErrNullParameter = newError(C.RT_STATUS_NULL_PARAMETER)
	// ErrBufferTooSmall: an output buffer is shorter than the published maximum.
	ErrBufferTooSmall = newError(C.RT_STATUS_BUFFER_TOO_SMALL)
	// ErrInvalidUTF8: text that must be UTF-8 (an address, a cookie name or path) is not.
	ErrInvalidUTF8 = newError(C.RT_STATUS_INVALID_UTF8)
	// ErrInvalidArgument: an argument is out of range: an unknown enum value, an unparsable
	// IP address.
	ErrInvalidArgument = newError(C.RT_STATUS_INVALID_ARGUMENT)
	// ErrPanic: an internal fault was caught at the library boundary (a bug: please report
	// it).
	ErrPanic = newError(C.RT_STATUS_PANIC)
	// ErrKeyEmpty: the keyring needs at least one key.
	ErrKeyEmpty = newError(C.RT_STATUS_KEY_EMPTY)
	// ErrKeyTooMany: the keyring holds at most 4 keys.
	ErrKeyTooMany = newError(C.RT_STATUS_KEY_TOO_MANY)
	// ErrKeyDuplicateID: two keys share one key id.
	ErrKeyDuplicateID = newError(C.RT_STATUS_KEY_DUPLICATE_ID)
	// ErrKeyMintingMissing: the minting key id is not among the keys.
	ErrKeyMintingMissing = newError(C.RT_STATUS_KEY_MINTING_MISSING)
	// ErrKeyWrongLength: a key secret is not 32 bytes.
	ErrKeyWrongLength = newError(C.RT_STATUS_KEY_WRONG_LENGTH)
	// ErrKeyAudienceTooLong: an audience is longer than MaxAudienceLen bytes.
	ErrKeyAudienceTooLong = newError(C.RT_STATUS_KEY_AUDIENCE_TOO_LONG)
	// ErrPolicyInvalid: the policy's values are inconsistent.
	ErrPolicyInvalid = newError(C.RT_STATUS_POLICY_INVALID)
	// ErrTokenEmpty: the token is empty.
	ErrTokenEmpty = newError(C.RT_STATUS_TOKEN_EMPTY)
	// ErrTokenTooLong: the text is longer than any token.
	ErrTokenTooLong = newError(C.RT_STATUS_TOKEN_TOO_LONG)
	// ErrTokenWrongPrefix: the text does not start with a rolltoken prefix.
	ErrTokenWrongPrefix = newError(C.RT_STATUS_TOKEN_WRONG_PREFIX)
	// ErrTokenUnsupportedVersion: a rolltoken form of an unsupported version.
	ErrTokenUnsupportedVersion = newError(C.RT_STATUS_TOKEN_UNSUPPORTED_VERSION)
	// ErrTokenWrongLength: the token has the wrong length for its form.
	ErrTokenWrongLength = newError(C.RT_STATUS_TOKEN_WRONG_LENGTH)
	// ErrTokenBadBase64: the token body is not canonical base64url.
	ErrTokenBadBase64 = newError(C.RT_STATUS_TOKEN_BAD_BASE64)
	// ErrTokenBadFlags: the token has reserved flags set.
	ErrTokenBadFlags = newError(C.RT_STATUS_TOKEN_BAD_FLAGS)
	// ErrTokenUnknownKey: the token names a key id that is not in the keyring.
	ErrTokenUnknownKey = newError(C.RT_STATUS_TOKEN_UNKNOWN_KEY)
	// ErrTokenBadTag: the token's tag does not verify.
	ErrTokenBadTag = newError(C.RT_STATUS_TOKEN_BAD_TAG)
	// ErrRecordWrongLength: record bytes are not RecordLen long.
	ErrRecordWrongLength = newError(C.RT_STATUS_RECORD_WRONG_LENGTH)
	// ErrRecordForeign: the bytes are not a rolltoken record.
	ErrRecordForeign = newError(C.RT_STATUS_RECORD_FOREIGN)
	// ErrRecordUnsupportedVersion: the record has an unsupported layout version.
	ErrRecordUnsupportedVersion = newError(C.RT_STATUS_RECORD_UNSUPPORTED_VERSION)
	// ErrRecordCorrupt: the record's checksum does not match (damaged).
	ErrRecordCorrupt = newError(C.RT_STATUS_RECORD_CORRUPT)
	// ErrRecordInvalid: the record holds impossible field values.
	ErrRecordInvalid = newError(C.RT_STATUS_RECORD_INVALID)
	// ErrStoreConflict: a compare-and-swap conflict (a session id collided, or contention
	// persisted).
	ErrStoreConflict = newError(C.RT_STATUS_STORE_CONFLICT)
	// ErrStoreFull: the memory store is full.
	ErrStoreFull = newError(C.RT_STATUS_STORE_FULL)
	// ErrStoreUnavailable: the store is unavailable.
	ErrStoreUnavailable = newError(C.RT_STATUS_STORE_UNAVAILABLE)
	// ErrStoreUnsupported: the store does not support the operation.
	ErrStoreUnsupported = newError(C.RT_STATUS_STORE_UNSUPPORTED)
	// ErrCookieBufferTooSmall: a cookie output buffer is too small.
	ErrCookieBufferTooSmall = newError(C.RT_STATUS_COOKIE_BUFFER_TOO_SMALL)
	// ErrCookieInvalidName: the cookie name is invalid.
	ErrCookieInvalidName = newError(C.RT_STATUS_COOKIE_INVALID_NAME)
	// ErrCookieInvalidValue: the cookie value is invalid.
	ErrCookieInvalidValue = newError(C.RT_STATUS_COOKIE_INVALID_VALUE)
	// ErrCookieInvalidPath: the cookie path is invalid.
	ErrCookieInvalidPath = newError(C.RT_STATUS_COOKIE_INVALID_PATH)
	// ErrCookieHostPrefixNeedsSecure: a __Host- cookie needs Secure.
	ErrCookieHostPrefixNeedsSecure = newError(C.RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_SECURE)
	// ErrCookieHostPrefixNeedsRootPath: a __Host- cookie needs Path=/.
	ErrCookieHostPrefixNeedsRootPath = newError(C.RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_ROOT_PATH)
	// ErrCookieSecurePrefixNeedsSecure: a __Secure- cookie needs Secure.
	ErrCookieSecurePrefixNeedsSecure = newError(C.RT_STATUS_COOKIE_SECURE_PREFIX_NEEDS_SECURE)
	// ErrCookieSameSiteNoneNeedsSecure: SameSite=None needs Secure.
	ErrCookieSameSiteNoneNeedsSecure = newError(C.RT_STATUS_COOKIE_SAME_SITE_NONE_NEEDS_SECURE)
	// ErrCookieDuplicate: the cookie name appears twice with different values (refuse the
	// request: fail closed).
	ErrCookieDuplicate = newError(C.RT_STATUS_COOKIE_DUPLICATE)
	// ErrCookieMalformed: the Cookie header holds control characters.
	ErrCookieMalformed = newError(C.RT_STATUS_COOKIE_MALFORMED)
	// ErrCookieTooLong: the Cookie header is longer than 8192 bytes.
	ErrCookieTooLong = newError(C.RT_STATUS_COOKIE_TOO_LONG)
	// ErrAnonymousSubject: login needs a non-zero subject.
	ErrAnonymousSubject = newError(C.RT_STATUS_ANONYMOUS_SUBJECT)
)

// errorsByCode maps every known rt_status to its Err* value.
var errorsByCode = map[uint32]*Error{}

func newError(code uint32) *Error {
	e := &Error{Code: code, Message: C.GoString(C.rt_status_str(C.uint32_t(code)))}
	errorsByCode[code] = e
	return e
}

// statusError turns an rt_status into nil (RT_STATUS_OK) or an *Error.
func statusError(st C.rt_status) error {
	code := uint32(st)
	if code == C.RT_STATUS_OK {
		return nil
	}
	if e, ok := errorsByCode[code]; ok {
		return e
	}
	return &Error{Code: code, Message: C.GoString(C.rt_status_str(C.uint32_t(code)))}
}

// mustOK is for calls whose only documented failure is a NULL pointer, which this package
// never passes: a failure there means a broken library build.
func mustOK(st C.rt_status, call string) {
	if err := statusError(st); err != nil {
		panic("rolltoken: " + call + " failed: " + err.Error())
	}
}

// errorForCode is statusError for a plain code (tests cannot use cgo).
func errorForCode(code uint32) error { return statusError(C.rt_status(code)) }
