package cli

import "google.golang.org/protobuf/proto"

// paged is a List response: one page and the token of the next.
type paged interface {
	proto.Message
	GetNextPageToken() string
}

// allPages asks for the first page and then the next, until the last or
// until enough (nil: never) says the pages so far are enough. merge adds a
// page's items to the first page's response and must take over its
// next_page_token, so that the result's is the last page's (empty when
// there are no more).
func allPages[R paged](call func(token string) (R, error), merge func(all, page R), enough func(all R) bool) (R, error) {
	all, err := call("")
	for err == nil && all.GetNextPageToken() != "" && (enough == nil || !enough(all)) {
		var page R
		if page, err = call(all.GetNextPageToken()); err == nil {
			merge(all, page)
		}
	}
	return all, err
}

// maxPage is the largest page the daemon sends (it caps page_size there).
const maxPage = 1000
