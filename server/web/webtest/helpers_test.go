package webtest_test

import (
	"regexp"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/patrolhq/patrol/server/web/webtest"
)

var regexpCode = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}$`)

func chromedpCookies(e *webtest.Env) ([]*network.Cookie, error) {
	res, err := chromedp.Call(e.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.URL + "/"}})
	return res.Cookies, err
}

func setCookie(t *testing.T, e *webtest.Env, name, value string) {
	t.Helper()
	if _, err := chromedp.Call(e.Ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: e.URL + "/"}); err != nil {
		t.Fatal(err)
	}
}
