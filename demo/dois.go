package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"folio/dataset"
	"folio/engine"
)

// provider is a DataCite member; the order is its size rank.
type provider struct{ id, publisher string }

var providerTable = []provider{
	{"cern", "CERN"}, {"figshare", "figshare"}, {"dryad", "Dryad"}, {"tib", "TIB Leibniz Information Centre"},
	{"datacite", "DataCite"}, {"caltech", "California Institute of Technology"}, {"bl", "The British Library"},
	{"cdl", "California Digital Library"}, {"ethz", "ETH Zürich"}, {"gesis", "GESIS – Leibniz Institute for the Social Sciences"},
	{"ardc", "Australian Research Data Commons"}, {"inist", "Inist-CNRS"}, {"zbmed", "ZB MED"}, {"kit", "Karlsruhe Institute of Technology"},
	{"pangaea", "PANGAEA"}, {"mendeley", "Mendeley Data"}, {"osf", "Open Science Framework"}, {"harvard", "Harvard Dataverse"},
	{"dans", "DANS"}, {"tudelft", "4TU.ResearchData"}, {"csic", "CSIC"}, {"sund", "Swedish National Data Service"},
	{"cisti", "NRC Canada"}, {"estdoi", "University of Tartu"}, {"snd", "Svensk nationell datatjänst"}, {"ku", "Københavns Universitet"},
	{"uva", "Universiteit van Amsterdam"}, {"epfl", "École polytechnique fédérale de Lausanne"}, {"unibas", "Universität Basel"},
	{"jcu", "James Cook University"}, {"ands", "ANDS"}, {"ccdc", "Cambridge Crystallographic Data Centre"}, {"icpsr", "ICPSR"},
	{"gbif", "GBIF"}, {"usgs", "U.S. Geological Survey"}, {"nist", "NIST"}, {"ornl", "Oak Ridge National Laboratory"},
	{"mpg", "Max-Planck-Gesellschaft"}, {"fzj", "Forschungszentrum Jülich"}, {"desy", "DESY"}, {"psi", "Paul Scherrer Institut"},
	{"ill", "Institut Laue-Langevin"}, {"esrf", "ESRF"}, {"stfc", "Science and Technology Facilities Council"},
	{"ubc", "University of British Columbia"}, {"unam", "Universidad Nacional Autónoma de México"}, {"usp", "Universidade de São Paulo"},
	{"tokyotech", "東京工業大学"}, {"kaist", "KAIST"}, {"uoa", "Εθνικό και Καποδιστριακό Πανεπιστήμιο Αθηνών"},
}

// doiClient is a DataCite repository: its DOIs share a prefix and a suffix
// pattern.
type doiClient struct {
	provider  int
	id        string
	prefix    string // with the trailing slash
	label     string // fixed start of every suffix, e.g. "zenodo."
	style     int
	publisher string
}

// DOI suffix styles.
const (
	styleNumber     = iota // zenodo.7012345
	styleCode              // z9vx0dkv
	styleCodeHyphen        // fxws-0523
)

// knownClients are the repositories whose DOIs everybody has seen.
var knownClients = map[string]doiClient{
	"cern":     {id: "cern.zenodo", prefix: "10.5281/", label: "zenodo.", style: styleNumber, publisher: "Zenodo"},
	"figshare": {id: "figshare.ars", prefix: "10.6084/", label: "m9.figshare.", style: styleNumber, publisher: "figshare"},
	"dryad":    {id: "dryad.dryad", prefix: "10.5061/", label: "dryad.", style: styleCode, publisher: "Dryad"},
	"caltech":  {id: "caltech.library", prefix: "10.7907/", style: styleCode, publisher: "California Institute of Technology"},
	"datacite": {id: "datacite.datacite", prefix: "10.14454/", style: styleCodeHyphen, publisher: "DataCite"},
	"pangaea":  {id: "pangaea.repository", prefix: "10.1594/", label: "pangaea.", style: styleNumber, publisher: "PANGAEA"},
	"kit":      {id: "kit.library", prefix: "10.5445/", label: "ir/", style: styleNumber, publisher: "Karlsruhe Institute of Technology (KIT)"},
}

var clientSuffixes = []string{"repository", "data", "library", "archive", "rdm", "dspace", "dataverse"}

// doiClients lists the clients, provider by provider, with their weights:
// provider sizes follow Zipf's law, as DataCite's do.
func doiClients() ([]doiClient, weights) {
	var clients []doiClient
	var w []int
	for rank, p := range providerTable {
		size := int(1e6 / math.Pow(float64(rank+1), 1.3))
		n := 1 + (len(providerTable)-rank)/12 // big providers run more repositories
		for k := range n {
			c := doiClient{
				provider:  rank,
				id:        p.id + "." + clientSuffixes[(rank+k)%len(clientSuffixes)],
				prefix:    "10." + strconv.Itoa(17000+13*len(clients)) + "/",
				style:     (rank + k) % 3,
				publisher: p.publisher,
			}
			if k == 0 {
				if known, ok := knownClients[p.id]; ok {
					known.provider = rank
					c = known
				}
			}
			clients = append(clients, c)
			w = append(w, max(size>>k, 1)) // the first repository is the big one
		}
	}
	return clients, newWeights(w...)
}

var (
	resourceTypes = texts("dataset", "text", "software", "image", "collection", "other",
		"physical-object", "audiovisual", "model", "workflow", "journal-article", "preprint", "sound")
	resourceTypeWeights = []int{45, 20, 10, 8, 4, 4, 3, 2, 1, 1, 1, 1, 1}
	doiStates           = texts("findable", "registered", "draft")
	doiStateWeights     = []int{92, 5, 3}
)

// titleWords feed the titles; some are not ASCII, so that text sorts and
// filters meet multi-byte characters.
var (
	titleOpeners = []string{"Data for", "Dataset:", "Supplementary material for", "Replication data for",
		"Code and data for", "Measurements of", "Observations of", "Simulations of", "Données de", "Daten zu",
		"Datos de", "Dati relativi a", "Gegevens over", "Messdaten:"}
	titleTopics = []string{"soil moisture", "sea-ice extent", "gene expression", "protein folding",
		"Ångström-scale defects", "β-decay spectra", "α-synuclein aggregation", "Δ-isotopes", "urban heat islands",
		"coral bleaching", "perovskite solar cells", "graphene oxide", "dark matter halos", "Köppen climate zones",
		"Zürich traffic flows", "São Paulo rainfall", "groundwater nitrate", "bird migration", "μ-opioid receptors",
		"naïve T cells", "rock magnetism", "façade insulation", "the Kuroshio current", "東京の地下水",
		"北京大气颗粒物", "Παρατηρήσεις του Αιγαίου", "Ølfjorden sediments", "Łódź air quality", "permafrost thaw"}
	titleSettings = []string{"", "", " in the North Sea", " in alpine catchments", " from 1950 to 2020",
		" under high pressure", " at 4 K", " – a multi-site study", " (version 2)", " in Lower Saxony", " across Europe",
		": raw and processed files", " near Tromsø"}
)

var doiColumns = []dataset.Column{
	{Name: "id", Type: engine.TypeText},
	{Name: "provider_id", Type: engine.TypeText},
	{Name: "client_id", Type: engine.TypeText},
	{Name: "created", Type: engine.TypeTime},
	{Name: "updated", Type: engine.TypeTime},
	{Name: "published", Type: engine.TypeInt, Nullable: true}, // NULL for drafts
	{Name: "title", Type: engine.TypeText},
	{Name: "publisher", Type: engine.TypeText},
	{Name: "resource_type_id", Type: engine.TypeText},
	{Name: "state", Type: engine.TypeText},
}

func doisTable(n int, seed int64) *dataset.Table {
	return &dataset.Table{
		Name:    "dois",
		Columns: doiColumns,
		Key:     []string{"id"},
		Indexes: []dataset.Index{
			// DataCite's cursor order; the filtered indexes end in it too, so
			// that a filtered cursor walk reads its rows in order.
			{Name: "dois_created", Columns: []string{"created", "id"}},
			{Name: "dois_updated", Columns: []string{"updated", "id"}},
			{Name: "dois_provider_id", Columns: []string{"provider_id", "created", "id"}},
			{Name: "dois_client_id", Columns: []string{"client_id", "created", "id"}},
			{Name: "dois_resource_type_id", Columns: []string{"resource_type_id", "created", "id"}},
		},
		Len: n,
		Rows: func(yield func([]engine.Value) bool) {
			g := newDOIGen(seed)
			row := make([]engine.Value, len(doiColumns))
			for i := range n {
				g.doi(row, uint64(i))
				if !yield(row) {
					return
				}
			}
		},
	}
}

// doiGen holds the state of one pass over the dois table.
type doiGen struct {
	r                    *rand.Rand
	codeKey              uint64
	clients              []doiClient
	clientWeights        weights
	providerIDs          []engine.Value
	clientIDs            []engine.Value
	publishers           []engine.Value
	types, states        weights
	opener, topic, where weights
	buf                  []byte
}

func newDOIGen(seed int64) *doiGen {
	r := newRand(seed, streamDOIs)
	clients, cw := doiClients()
	g := &doiGen{
		r:             r,
		codeKey:       r.Uint64(),
		clients:       clients,
		clientWeights: cw,
		types:         newWeights(resourceTypeWeights...),
		states:        newWeights(doiStateWeights...),
		opener:        uniform(len(titleOpeners)),
		topic:         uniform(len(titleTopics)),
		where:         uniform(len(titleSettings)),
		buf:           make([]byte, 0, 128),
	}
	for _, p := range providerTable {
		g.providerIDs = append(g.providerIDs, p.id)
	}
	for _, c := range clients {
		g.clientIDs = append(g.clientIDs, c.id)
		g.publishers = append(g.publishers, c.publisher)
	}
	return g
}

// uniform weighs n choices equally.
func uniform(n int) weights {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return newWeights(w...)
}

var (
	doisFrom = date(2011, time.January, 1).Unix()
	doisTo   = date(2026, time.January, 1).Unix()
)

// doi fills row with DOI number i.
func (g *doiGen) doi(row []engine.Value, i uint64) {
	r := g.r
	ci := g.clientWeights.pick(r)
	c := &g.clients[ci]

	// Suffixes are injective in i and prefixes differ between clients, so
	// ids are unique by construction.
	b := append(g.buf[:0], c.prefix...)
	b = append(b, c.label...)
	switch c.style {
	case styleNumber:
		b = strconv.AppendUint(b, 100000+i*7+r.Uint64N(7), 10)
	default:
		b = appendBase32(b, mix40(i, g.codeKey), c.style == styleCodeHyphen)
	}
	row[0] = string(b)
	row[1] = g.providerIDs[c.provider]
	row[2] = g.clientIDs[ci]

	// DataCite's timestamps have whole seconds; growth favours recent years.
	created := doisFrom + int64(float64(doisTo-doisFrom)*math.Pow(r.Float64(), 0.7))
	row[3] = unixSec(created)
	updated := created
	if r.Float64() < 0.4 {
		updated += r.Int64N(60) // metadata registered right after creation
	} else {
		updated += int64(r.ExpFloat64() * 200 * 86400)
	}
	row[4] = unixSec(min(updated, max(doisTo, created)))

	state := g.states.pick(r)
	year := int64(unixSec(created).Year())
	switch {
	case state == 2: // draft
		row[5] = nil
	case r.Float64() < 0.15: // legacy data registered late
		row[5] = max(year-r.Int64N(40), 1950)
	default:
		row[5] = year
	}

	b = b[:0]
	if r.Float64() >= 0.002 { // a few titles are empty
		b = append(b, titleOpeners[g.opener.pick(r)]...)
		b = append(b, ' ')
		b = append(b, titleTopics[g.topic.pick(r)]...)
		b = append(b, titleSettings[g.where.pick(r)]...)
	}
	row[6] = string(b)
	g.buf = b

	row[7] = g.publishers[ci]
	row[8] = resourceTypes[g.types.pick(r)]
	row[9] = doiStates[state]
}
