package rolltoken

// #include "rolltoken.h"
import "C"

// Every constant this package spells out is the library's: a value that differs from
// include/rolltoken.h makes one of these conversions negative and fails the build.
const (
	_ = uint(SameSiteLax-C.RT_SAME_SITE_LAX) + uint(C.RT_SAME_SITE_LAX-SameSiteLax)
	_ = uint(SameSiteStrict-C.RT_SAME_SITE_STRICT) + uint(C.RT_SAME_SITE_STRICT-SameSiteStrict)
	_ = uint(SameSiteNone-C.RT_SAME_SITE_NONE) + uint(C.RT_SAME_SITE_NONE-SameSiteNone)
	_ = uint(SessionIDLen-C.RT_SESSION_ID_LEN) + uint(C.RT_SESSION_ID_LEN-SessionIDLen)
	_ = uint(KeyLen-C.RT_KEY_LEN) + uint(C.RT_KEY_LEN-KeyLen)
	_ = uint(MaxTokenLen-C.RT_MAX_TOKEN_LEN) + uint(C.RT_MAX_TOKEN_LEN-MaxTokenLen)
	_ = uint(RecordLen-C.RT_RECORD_LEN) + uint(C.RT_RECORD_LEN-RecordLen)
	_ = uint(MaxSetCookieLen-C.RT_MAX_SET_COOKIE_LEN) + uint(C.RT_MAX_SET_COOKIE_LEN-MaxSetCookieLen)
	_ = uint(MemoryStoreCapacity-C.RT_MEMORY_STORE_CAPACITY) + uint(C.RT_MEMORY_STORE_CAPACITY-MemoryStoreCapacity)
	_ = uint(DenyListCapacity-C.RT_DENY_LIST_CAPACITY) + uint(C.RT_DENY_LIST_CAPACITY-DenyListCapacity)
	_ = uint(ModeStrict-C.RT_MODE_STRICT) + uint(C.RT_MODE_STRICT-ModeStrict)
	_ = uint(ModeCached-C.RT_MODE_CACHED) + uint(C.RT_MODE_CACHED-ModeCached)
	_ = uint(FormFull-C.RT_FORM_FULL) + uint(C.RT_FORM_FULL-FormFull)
	_ = uint(FormCompact-C.RT_FORM_COMPACT) + uint(C.RT_FORM_COMPACT-FormCompact)
	_ = uint(GraceFixed-C.RT_GRACE_FIXED) + uint(C.RT_GRACE_FIXED-GraceFixed)
	_ = uint(GraceAdaptive-C.RT_GRACE_ADAPTIVE) + uint(C.RT_GRACE_ADAPTIVE-GraceAdaptive)
	_ = uint(BindingEvidence-C.RT_BINDING_EVIDENCE) + uint(C.RT_BINDING_EVIDENCE-BindingEvidence)
	_ = uint(BindingRequireUserAgent-C.RT_BINDING_REQUIRE_USER_AGENT) + uint(C.RT_BINDING_REQUIRE_USER_AGENT-BindingRequireUserAgent)
	_ = uint(BindingRequireFull-C.RT_BINDING_REQUIRE_FULL) + uint(C.RT_BINDING_REQUIRE_FULL-BindingRequireFull)
	_ = uint(KindAdvance-C.RT_KIND_ADVANCE) + uint(C.RT_KIND_ADVANCE-KindAdvance)
	_ = uint(KindRead-C.RT_KIND_READ) + uint(C.RT_KIND_READ-KindRead)
	_ = uint(RevokeLogout-C.RT_REVOKE_LOGOUT) + uint(C.RT_REVOKE_LOGOUT-RevokeLogout)
	_ = uint(RevokeReuse-C.RT_REVOKE_REUSE) + uint(C.RT_REVOKE_REUSE-RevokeReuse)
	_ = uint(RevokeUpgradedAtLogin-C.RT_REVOKE_UPGRADED_AT_LOGIN) + uint(C.RT_REVOKE_UPGRADED_AT_LOGIN-RevokeUpgradedAtLogin)
	_ = uint(RevokeAdmin-C.RT_REVOKE_ADMIN) + uint(C.RT_REVOKE_ADMIN-RevokeAdmin)
	_ = uint(NextDone-C.RT_NEXT_DONE) + uint(C.RT_NEXT_DONE-NextDone)
	_ = uint(NextSave-C.RT_NEXT_SAVE) + uint(C.RT_NEXT_SAVE-NextSave)
	_ = uint(NextLoadPrimary-C.RT_NEXT_LOAD_PRIMARY) + uint(C.RT_NEXT_LOAD_PRIMARY-NextLoadPrimary)
)
