package rolltoken

import "testing"

func TestRequestKind(t *testing.T) {
	cases := []struct {
		h    FetchHeaders
		want Kind
	}{
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecFetchSite: "same-origin"}, KindAdvance},
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecFetchSite: "cross-site"}, KindRead},
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecPurpose: "prefetch"}, KindRead},
		{FetchHeaders{Method: "GET", SecFetchMode: "cors", Accept: "text/html"}, KindRead},
		{FetchHeaders{Method: "GET", Accept: "text/html,application/xhtml+xml"}, KindAdvance},
		{FetchHeaders{Method: "GET", Accept: "*/*"}, KindRead},
		{FetchHeaders{Method: "POST", Accept: "text/html"}, KindRead},
	}
	for _, c := range cases {
		if got := RequestKind(c.h); got != c.want {
			t.Errorf("RequestKind(%+v) = %v, want %v", c.h, got, c.want)
		}
	}
}
