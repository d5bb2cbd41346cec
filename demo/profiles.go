package demo

import (
	"math/rand/v2"
	"strconv"
	"time"

	"folio/dataset"
	"folio/engine"
)

// profileDatabases is the number of Copernica databases; ids run from 1.
const profileDatabases = 50

// database42 holds exactly Database42Profiles profiles.
const database42 = 42

// person is a name as written and as it goes into an e-mail address.
type person struct{ name, ascii string }

// Copernica is Dutch; its demo customers mostly are too.
var (
	firstNames = []person{
		{"Jan", "jan"}, {"Daan", "daan"}, {"Sem", "sem"}, {"Lotte", "lotte"}, {"Emma", "emma"}, {"Sanne", "sanne"},
		{"Pieter", "pieter"}, {"Anouk", "anouk"}, {"Bram", "bram"}, {"Fleur", "fleur"}, {"Joost", "joost"},
		{"Ilse", "ilse"}, {"Thijs", "thijs"}, {"Noor", "noor"}, {"Ruud", "ruud"}, {"Zoë", "zoe"}, {"Chloë", "chloe"},
		{"Mohammed", "mohammed"}, {"Fatima", "fatima"}, {"Yusuf", "yusuf"}, {"Anna", "anna"}, {"Lucas", "lucas"},
		{"José", "jose"}, {"María", "maria"}, {"François", "francois"}, {"Jürgen", "juergen"}, {"Søren", "soren"},
		{"Łukasz", "lukasz"}, {"Ágnes", "agnes"}, {"Björn", "bjorn"}, {"Siobhán", "siobhan"}, {"Nguyễn", "nguyen"},
		{"Wei", "wei"}, {"Aiko", "aiko"}, {"Olga", "olga"}, {"Kees", "kees"}, {"Marieke", "marieke"}, {"Wouter", "wouter"},
	}
	lastNames = []person{
		{"de Jong", "dejong"}, {"Jansen", "jansen"}, {"de Vries", "devries"}, {"van den Berg", "vandenberg"},
		{"van Dijk", "vandijk"}, {"Bakker", "bakker"}, {"Janssen", "janssen"}, {"Visser", "visser"}, {"Smit", "smit"},
		{"Meijer", "meijer"}, {"de Boer", "deboer"}, {"Mulder", "mulder"}, {"de Groot", "degroot"}, {"Bos", "bos"},
		{"Vos", "vos"}, {"Peters", "peters"}, {"Hendriks", "hendriks"}, {"van Leeuwen", "vanleeuwen"},
		{"Dekker", "dekker"}, {"Brouwer", "brouwer"}, {"El Amrani", "elamrani"}, {"Yılmaz", "yilmaz"},
		{"Müller", "mueller"}, {"Dubois", "dubois"}, {"García", "garcia"}, {"Nowak", "nowak"}, {"Øster", "oster"},
		{"O'Brien", "obrien"}, {"Kowalczyk", "kowalczyk"}, {"Rossi", "rossi"}, {"Silva", "silva"}, {"Nagy", "nagy"},
		{"Wang", "wang"}, {"Tanaka", "tanaka"}, {"Ivanova", "ivanova"}, {"Lindqvist", "lindqvist"},
	}
	emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "post.example.org"}
)

// place is a city and its country; weight is its share of the profiles.
type place struct {
	city, country string
	weight        int
}

var places = []place{
	{"Amsterdam", "Netherlands", 40}, {"Rotterdam", "Netherlands", 25}, {"Utrecht", "Netherlands", 18},
	{"Den Haag", "Netherlands", 18}, {"Eindhoven", "Netherlands", 12}, {"Groningen", "Netherlands", 10},
	{"Tilburg", "Netherlands", 8}, {"Almere", "Netherlands", 7}, {"Breda", "Netherlands", 7},
	{"Nijmegen", "Netherlands", 7}, {"Leeuwarden", "Netherlands", 4}, {"'s-Hertogenbosch", "Netherlands", 5},
	{"Antwerpen", "Belgium", 8}, {"Gent", "Belgium", 5}, {"Bruxelles", "Belgium", 6}, {"Liège", "Belgium", 3},
	{"Berlin", "Germany", 6}, {"Köln", "Germany", 5}, {"Düsseldorf", "Germany", 4}, {"München", "Germany", 4},
	{"Paris", "France", 4}, {"Lyon", "France", 2}, {"London", "United Kingdom", 4}, {"Manchester", "United Kingdom", 2},
	{"Madrid", "Spain", 2}, {"Barcelona", "Spain", 2}, {"Milano", "Italy", 2}, {"Kraków", "Poland", 2},
	{"København", "Denmark", 2}, {"Zürich", "Switzerland", 2}, {"Wien", "Austria", 2}, {"İstanbul", "Türkiye", 2},
	{"Casablanca", "Morocco", 2}, {"Paramaribo", "Suriname", 2}, {"Willemstad", "Curaçao", 1},
	{"New York", "United States", 2}, {"Tokyo", "Japan", 1}, {"São Paulo", "Brazil", 1},
}

var profileColumns = []dataset.Column{
	{Name: "id", Type: engine.TypeInt},
	{Name: "database_id", Type: engine.TypeInt},
	{Name: "email", Type: engine.TypeText},
	{Name: "name", Type: engine.TypeText},
	{Name: "city", Type: engine.TypeText},
	{Name: "country", Type: engine.TypeText},
	{Name: "created", Type: engine.TypeTime},
	{Name: "modified", Type: engine.TypeTime},
}

func profilesTable(n int, seed int64) *dataset.Table {
	return &dataset.Table{
		Name:    "profiles",
		Columns: profileColumns,
		Key:     []string{"id"},
		Indexes: []dataset.Index{
			{Name: "profiles_database_id", Columns: []string{"database_id", "id"}},
			// Copernica's orderby=modified within one database.
			{Name: "profiles_database_id_modified", Columns: []string{"database_id", "modified", "id"}},
		},
		Len: n,
		Rows: func(yield func([]engine.Value) bool) {
			g := newProfileGen(seed, n)
			row := make([]engine.Value, len(profileColumns))
			for i := range n {
				g.profile(row, i)
				if !yield(row) {
					return
				}
			}
		},
	}
}

// profileGen holds the state of one pass over the profiles table.
type profileGen struct {
	r          *rand.Rand
	n          int
	left42     int // profiles of database 42 still to place
	databases  weights
	databaseID []int64 // by weights index: every database but 42
	first      weights
	last       weights
	names      []engine.Value // first × last
	places     weights
	cities     []engine.Value
	countries  []engine.Value
	domains    weights
	buf        []byte
}

func newProfileGen(seed int64, n int) *profileGen {
	g := &profileGen{
		r:       newRand(seed, streamProfiles),
		n:       n,
		left42:  Database42Profiles,
		first:   uniform(len(firstNames)),
		last:    uniform(len(lastNames)),
		domains: newWeights(40, 25, 15, 15, 5),
		buf:     make([]byte, 0, 64),
	}
	var dw []int
	for id := int64(1); id <= profileDatabases; id++ {
		if id != database42 {
			g.databaseID = append(g.databaseID, id)
			dw = append(dw, 1+600/int(id)) // a few large databases, many small ones
		}
	}
	g.databases = newWeights(dw...)
	for _, f := range firstNames {
		for _, l := range lastNames {
			g.names = append(g.names, f.name+" "+l.name)
		}
	}
	pw := make([]int, len(places))
	for i, p := range places {
		pw[i] = p.weight
		g.cities = append(g.cities, p.city)
		g.countries = append(g.countries, p.country)
	}
	g.places = newWeights(pw...)
	return g
}

var (
	profilesFrom = date(2009, time.January, 1).Unix()
	profilesTo   = date(2026, time.January, 1).Unix()
)

// profile fills row with profile number i (0-based).
func (g *profileGen) profile(row []engine.Value, i int) {
	r := g.r
	row[0] = int64(i) + 1
	// Selection sampling: each remaining row joins database 42 with
	// probability left/remaining, which places exactly Database42Profiles
	// rows there, spread over the whole id range, without a second pass.
	if g.left42 > 0 && r.IntN(g.n-i) < g.left42 {
		g.left42--
		row[1] = int64(database42)
	} else {
		row[1] = g.databaseID[g.databases.pick(r)]
	}

	f, l := g.first.pick(r), g.last.pick(r)
	b := append(g.buf[:0], firstNames[f].ascii...)
	b = append(b, '.')
	b = append(b, lastNames[l].ascii...)
	if r.IntN(2) == 0 {
		b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
	}
	b = append(b, '@')
	b = append(b, emailDomains[g.domains.pick(r)]...)
	row[2] = string(b)
	g.buf = b

	// Copernica fields default to the empty string; some stay empty.
	row[3] = g.names[f*len(lastNames)+l]
	if r.IntN(100) == 0 {
		row[3] = ""
	}
	p := g.places.pick(r)
	row[4], row[5] = g.cities[p], g.countries[p]
	if r.IntN(30) == 0 {
		row[4] = ""
	}

	// Ids are assigned on creation, so created grows with the id.
	step := (profilesTo - profilesFrom) / int64(g.n)
	created := profilesFrom + step*int64(i) + r.Int64N(max(step, 1))
	row[6] = unixSec(created)
	modified := created
	if r.IntN(2) == 0 {
		modified = min(created+int64(r.ExpFloat64()*365*86400), max(profilesTo, created))
	}
	row[7] = unixSec(modified)
}
