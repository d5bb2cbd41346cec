package client

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
)

// Credentials are what a Client sends to prove who it is. They live in
// the Client alone: a Request (which a checkpoint records) never holds
// them, so no checkpoint, output or log line carries them.
type Credentials struct {
	// Header holds headers sent with every request to Origin, as given
	// (an API key header, say).
	Header http.Header
	// Token is sent to Origin as "Authorization: Bearer Token".
	Token string
	// Netrc holds the logins of a .netrc file (ReadNetrc): a request to a
	// host it names, when no Token or Authorization header applies, is
	// sent with that login as HTTP Basic.
	Netrc Netrc
	// Origin is the scheme, host and port ("https://api.example.org") that
	// Header and Token are sent to, and no other: a next link to another
	// host must not learn them. Empty: the origin of the first request the
	// Client sends.
	Origin string
}

// origin returns u's scheme and host, with the default port made explicit.
func origin(u *url.URL) string {
	host := u.Host
	if u.Port() == "" {
		switch u.Scheme {
		case "http":
			host += ":80"
		case "https":
			host += ":443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(host)
}

// redirected keeps the credentials a redirect to another origin would
// carry from going there: net/http drops Authorization itself, but
// forwards every other header (an API key) as it was.
func (c *credentials) redirected(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	if origin(req.URL) != c.origin {
		for k := range c.Header {
			req.Header.Del(k)
		}
		req.Header.Del("Authorization")
		c.netrc(req)
	}
	return nil
}

// credentials adds c's credentials to hr as they apply to its URL.
type credentials struct {
	Credentials
	once   sync.Once
	origin string
}

func (c *credentials) apply(hr *http.Request) {
	c.once.Do(func() {
		c.origin = hr.URL.Scheme + "://" + hr.URL.Host
		if c.Origin != "" {
			c.origin = c.Origin
		}
		if u, err := url.Parse(c.origin); err == nil {
			c.origin = origin(u)
		}
	})
	if origin(hr.URL) == c.origin {
		for k, vs := range c.Header {
			for _, v := range vs {
				hr.Header.Add(k, v)
			}
		}
		if c.Token != "" {
			hr.Header.Set("Authorization", "Bearer "+c.Token)
		}
	}
	c.netrc(hr)
}

// netrc sends hr's host its .netrc login, unless hr has an Authorization.
func (c *credentials) netrc(hr *http.Request) {
	if hr.Header.Get("Authorization") != "" {
		return
	}
	if l, ok := c.Netrc[strings.ToLower(hr.URL.Hostname())]; ok {
		hr.SetBasicAuth(l.Login, l.Password)
	} else if l, ok := c.Netrc[""]; ok {
		hr.SetBasicAuth(l.Login, l.Password)
	}
}

// Netrc is a .netrc file's logins by host name; "" is its default entry.
type Netrc map[string]Login

// Login is one machine's login and password.
type Login struct{ Login, Password string }

// ReadNetrc reads the .netrc file at path: `machine HOST login L password
// P` entries (and `default`), as curl and ftp read them; `macdef`
// definitions are skipped. A file that does not exist is no logins.
func ReadNetrc(path string) (Netrc, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return Netrc{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netrc: %w", err)
	}
	defer f.Close()
	n, err := ParseNetrc(f)
	if err != nil {
		return nil, fmt.Errorf("netrc %s: %w", path, err)
	}
	return n, nil
}

// ParseNetrc parses a .netrc file's text.
func ParseNetrc(r io.Reader) (Netrc, error) {
	out := Netrc{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var words []string
	inMacro := false
	for sc.Scan() {
		line := sc.Text()
		if inMacro {
			// A macro runs to the first empty line.
			inMacro = strings.TrimSpace(line) != ""
			continue
		}
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.HasPrefix(fields[0], "#") {
			continue // a comment line
		}
		for _, w := range fields {
			if w == "macdef" { // its name, then lines up to an empty one
				inMacro = true
				break
			}
			words = append(words, w)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	host, in := "", false
	var cur Login
	flush := func() {
		if in {
			if _, seen := out[host]; !seen { // the first entry for a host wins
				out[host] = cur
			}
		}
	}
	for i := 0; i < len(words); i++ {
		value := func() (string, error) {
			if i+1 >= len(words) {
				return "", fmt.Errorf("%q without a value", words[i])
			}
			i++
			return words[i], nil
		}
		switch words[i] {
		case "machine":
			flush()
			h, err := value()
			if err != nil {
				return nil, err
			}
			host, in, cur = strings.ToLower(h), true, Login{}
		case "default":
			flush()
			host, in, cur = "", true, Login{}
		case "login":
			v, err := value()
			if err != nil {
				return nil, err
			}
			cur.Login = v
		case "password":
			v, err := value()
			if err != nil {
				return nil, err
			}
			cur.Password = v
		case "account", "port":
			if _, err := value(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected word %q", words[i])
		}
	}
	flush()
	return out, nil
}
