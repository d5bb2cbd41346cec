package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"folio/dataset"
	"folio/engine"
)

// gridPlaces name the fictional grid sites; each site's hosts live under
// grid.<place>.example (RFC 2606), so no real host is ever named.
var gridPlaces = []string{
	"Alderholm", "Brightwater", "Castelmora", "Dunmere", "Eskvale", "Falkenried", "Grünwald", "Havnby",
	"Ilvento", "Jarvik", "Kestrel", "Lindau", "Marisol", "Nordvik", "Oakridge", "Pellworth", "Quarnby",
	"Rivoli", "Sankt-Ilse", "Torvale", "Ulmenau", "Valdora", "Westmarch", "Ystad", "Zelenograd",
	"Aranmore", "Bellhaven", "Corvina", "Drachenfels", "Elmstead", "Fiordland", "Glenwood", "Hohenau",
	"Isola", "Juniper", "Kirkby", "Lagoa", "Montecielo", "Neuhafen", "Orvieto",
}

// gridRegions are the regional prefixes GOCDB site names start with, and
// the NGI (GOCDB's regional grouping of sites) of each.
var gridRegions = []struct{ prefix, ngi string }{
	{"UKI", "NGI_UK"}, {"IN2P3", "NGI_FRANCE"}, {"INFN", "NGI_IT"}, {"DE", "NGI_DE"}, {"NL", "NGI_NL"},
	{"PL", "NGI_PL"}, {"CZ", "NGI_CZ"}, {"ES", "NGI_IBERGRID"}, {"NDGF", "NGI_NDGF"}, {"CH", "NGI_CH"},
	{"GR", "NGI_GRNET"}, {"PT", "NGI_IBERGRID"}, {"IL", "NGI_IL"}, {"TW", "AsiaPacific"}, {"AU", "AsiaPacific"},
	{"CA", "ROC_Canada"},
}

// gridServices are GOCDB service types, the host names they run on, the
// URL of their endpoints (%s is the host; empty for a service that has
// none) and whether the WLCG experiments use them.
var gridServices = []struct {
	kind, host string
	weight     int
	url        string
	wlcg       bool
}{
	{"CREAM-CE", "ce", 10, "https://%s:8443/ce-cream/services", true},
	{"ARC-CE", "arc", 12, "https://%s:443/arex", true},
	{"org.opensciencegrid.htcondorce", "htcce", 10, "htcondorce://%s:9619", true},
	{"SRM", "srm", 15, "httpg://%s:8446/srm/managerv2", true},
	{"webdav", "webdav", 8, "davs://%s:443/", true},
	{"XRootD", "xrootd", 8, "root://%s:1094/", true},
	{"Top-BDII", "topbdii", 3, "ldap://%s:2170/", false},
	{"Site-BDII", "sbdii", 5, "ldap://%s:2170/mds-vo-name=resource,o=grid", false},
	{"APEL", "apel", 3, "", false},
	{"org.squid-cache.Squid", "squid", 4, "http://%s:3128/", true},
	{"net.perfSONAR.Bandwidth", "ps-bw", 3, "https://%s/toolkit/", true},
	{"net.perfSONAR.Latency", "ps-lat", 3, "https://%s/toolkit/", true},
	{"FTS", "fts", 2, "https://%s:8446/", true},
	{"VOMS", "voms", 1, "https://%s:8443/voms/", false},
	{"MyProxy", "myproxy", 1, "myproxy://%s:7512", false},
	{"eu.egi.cloud.vm-management.occi", "cloud", 2, "https://%s:11443/", false},
}

// wlcgVOs are the experiments a WLCG service may carry as a scope tag.
var wlcgVOs = []string{"atlas", "cms", "lhcb", "alice"}

// portalURL is where the demo's downtimes live in GOCDB's web portal; the
// host is reserved (RFC 2606), as every host the demo names.
const portalURL = "https://gocdb.example/portal/index.php?Page_Type=Downtime&id="

// Descriptions, by classification: what sites write when they announce a
// downtime and when they report one after the fact.
var (
	scheduledDescriptions = texts(
		"Scheduled maintenance",
		"Kernel upgrade and reboot of worker nodes",
		"Network maintenance by the NREN",
		"dCache upgrade",
		"Storage migration to new hardware",
		"OS upgrade to EL9",
		"Electrical works in the building",
		"Firmware update of disk servers",
		"Host certificate renewal",
		"Batch system upgrade",
		"Core router replacement",
		"Tape library maintenance",
		"Site-wide downtime for annual maintenance",
		"Wartung der Speichersysteme",
		"Maintenance électrique du bâtiment",
	)
	unscheduledDescriptions = texts(
		"Power cut in the data centre",
		"Cooling failure in the machine room",
		"Emergency security patching",
		"Unexpected outage, under investigation",
		"Degraded performance: RAID rebuild",
		"Network outage upstream",
		"Störung der Kühlung",
	)
)

var (
	classifications = texts("SCHEDULED", "UNSCHEDULED")
	severities      = texts("OUTAGE", "WARNING")
)

var downtimeColumns = []dataset.Column{
	{Name: "id", Type: engine.TypeInt},
	{Name: "primary_key", Type: engine.TypeText},
	{Name: "classification", Type: engine.TypeText},
	{Name: "severity", Type: engine.TypeText},
	{Name: "description", Type: engine.TypeText},
	{Name: "insert_date", Type: engine.TypeTime},
	{Name: "start_date", Type: engine.TypeTime},
	{Name: "end_date", Type: engine.TypeTime},
	{Name: "hostname", Type: engine.TypeText},
	{Name: "service_type", Type: engine.TypeText},
	{Name: "site", Type: engine.TypeText},
	// What GOCDB derives from the affected service, and the service's scope
	// tags: added after the columns above, from a random stream of their
	// own, so that those columns keep their values.
	{Name: "endpoint", Type: engine.TypeText},           // hostname and service type, run together as GOCDB writes them
	{Name: "portal_url", Type: engine.TypeText},         // the downtime's page in GOCDB's portal
	{Name: "affected_endpoints", Type: engine.TypeJSON}, // [{"ID":…,"NAME":…,"URL":…,"INTERFACENAME":…,"ENDPOINT_MONITORED":"Y"|"N"}]
	{Name: "ngi", Type: engine.TypeText},                // the site's NGI
	{Name: "scopes", Type: engine.TypeJSON},             // the service's scope tags, e.g. ["EGI","wlcg","cms"]
}

func downtimesTable(n int, seed int64) *dataset.Table {
	return &dataset.Table{
		Name:    "downtimes",
		Columns: downtimeColumns,
		Key:     []string{"id"},
		Indexes: []dataset.Index{
			{Name: "downtimes_primary_key", Columns: []string{"primary_key"}, Unique: true},
			{Name: "downtimes_start_date", Columns: []string{"start_date", "id"}},
		},
		Len: n,
		Rows: func(yield func([]engine.Value) bool) {
			g := newDowntimeGen(seed)
			row := make([]engine.Value, len(downtimeColumns))
			for i := range n {
				g.downtime(row, i, n)
				if !yield(row) {
					return
				}
			}
		},
	}
}

// downtimeGen holds the state of one pass over the downtimes table.
type downtimeGen struct {
	r                       *rand.Rand
	extra                   *rand.Rand // the affected endpoints
	sites                   weights
	services                weights
	scheduledDescriptions   weights
	unscheduledDescriptions weights
	siteNames               []engine.Value
	siteNGIs                []engine.Value
	serviceTypes            []engine.Value
	hosts                   [][][]gridHost // site, service, host number
	buf                     []byte
}

// gridHost is one service host: its name and what a downtime of it shows.
type gridHost struct {
	name     engine.Value
	endpoint engine.Value   // GOCDB's ENDPOINT: the host name and service type run together
	scopes   engine.Value   // JSON array of scope tags
	affected []engine.Value // JSON arrays of affected endpoints: none, then each non-empty subset
}

const hostsPerService = 3

func newDowntimeGen(seed int64) *downtimeGen {
	g := &downtimeGen{
		r:                       newRand(seed, streamDowntimes),
		extra:                   newRand(seed, streamDowntimeEndpoints),
		scheduledDescriptions:   uniform(len(scheduledDescriptions)),
		unscheduledDescriptions: uniform(len(unscheduledDescriptions)),
		buf:                     make([]byte, 0, 16),
	}
	sw := make([]int, len(gridPlaces))
	for i, place := range gridPlaces {
		sw[i] = 1 + 40/(i+1) // a few busy sites, a long tail
		region := gridRegions[i%len(gridRegions)]
		g.siteNames = append(g.siteNames, region.prefix+"-"+strings.ToUpper(asciiPlace(place)))
		g.siteNGIs = append(g.siteNGIs, region.ngi)
		domain := "grid." + strings.ToLower(asciiPlace(place)) + ".example"
		var hosts [][]gridHost
		for j, s := range gridServices {
			var h []gridHost
			for k := 1; k <= hostsPerService; k++ {
				n := (i*len(gridServices)+j)*hostsPerService + k - 1
				h = append(h, newGridHost(n, s.kind, fmt.Sprintf("%s%02d", s.host, k), domain, s.url, s.wlcg))
			}
			hosts = append(hosts, h)
		}
		g.hosts = append(g.hosts, hosts)
	}
	g.sites = newWeights(sw...)
	vw := make([]int, len(gridServices))
	for i, s := range gridServices {
		vw[i] = s.weight
		g.serviceTypes = append(g.serviceTypes, s.kind)
	}
	g.services = newWeights(vw...)
	return g
}

// newGridHost describes host number n (counted over every site and
// service), named label.domain. Its endpoints and scope tags follow from n
// alone, so that they are the same in every downtime of the host.
func newGridHost(n int, kind, label, domain, urlFormat string, wlcg bool) gridHost {
	name := label + "." + domain
	u := mix(uint64(n) ^ 0x646f776e74696d65)
	h := gridHost{name: name, endpoint: name + kind}

	var tags []string
	if u%100 < 6 {
		tags = []string{"Local"} // a service kept out of the federation
	} else {
		tags = []string{"EGI"}
		if wlcg && (u>>8)%100 < 70 {
			tags = append(tags, "wlcg")
			if vo := (u >> 16) % uint64(len(wlcgVOs)+1); int(vo) < len(wlcgVOs) {
				tags = append(tags, wlcgVOs[vo])
			}
		}
	}
	b, _ := json.Marshal(tags)
	h.scopes = string(b)

	// One or two endpoints, ids unique over the whole grid; the second one
	// is sometimes left unmonitored.
	url := ""
	if urlFormat != "" {
		url = fmt.Sprintf(urlFormat, name)
	}
	var endpoints []string
	for k := range 1 + int((u>>24)%2) {
		monitored := "Y"
		if k == 1 && (u>>32)%3 == 0 {
			monitored = "N"
		}
		b, _ := json.Marshal(struct {
			ID            int    `json:"ID"`
			Name          string `json:"NAME"`
			URL           string `json:"URL"`
			InterfaceName string `json:"INTERFACENAME"`
			Monitored     string `json:"ENDPOINT_MONITORED"`
		}{n*2 + k + 1, fmt.Sprintf("%s-endpoint%d", label, k+1), url, kind, monitored})
		endpoints = append(endpoints, string(b))
	}
	h.affected = append(h.affected, "[]")
	for _, e := range endpoints {
		h.affected = append(h.affected, "["+e+"]")
	}
	if len(endpoints) == 2 {
		h.affected = append(h.affected, "["+endpoints[0]+","+endpoints[1]+"]")
	}
	return h
}

// asciiPlace folds the few non-ASCII letters of gridPlaces for use in names.
func asciiPlace(s string) string { return strings.ReplaceAll(s, "ü", "ue") }

var (
	downtimesFrom = date(2008, time.June, 1).Unix()
	downtimesTo   = date(2026, time.January, 1).Unix()
)

// downtime fills row with downtime number i (0-based) of n.
func (g *downtimeGen) downtime(row []engine.Value, i, n int) {
	r := g.r
	id := int64(i) + 1
	row[0] = id
	// Ascending with id and unique: PRIMARY_KEY values are handed out in
	// insertion order, like the database ids.
	g.buf = strconv.AppendInt(g.buf[:0], 10000+2*id+r.Int64N(2), 10)
	g.buf = append(g.buf, "G0"...)
	row[1] = string(g.buf)

	scheduled := r.Float64() < 0.8
	outage := r.Float64() < 0.55
	if !scheduled {
		outage = r.Float64() < 0.75
	}
	row[2] = classifications[b2i(!scheduled)]
	row[3] = severities[b2i(!outage)]
	if scheduled {
		row[4] = scheduledDescriptions[g.scheduledDescriptions.pick(r)]
	} else {
		row[4] = unscheduledDescriptions[g.unscheduledDescriptions.pick(r)]
	}

	// Ids are assigned when a downtime is declared, so insert dates grow
	// with the id.
	step := (downtimesTo - downtimesFrom) / int64(n)
	inserted := downtimesFrom + step*int64(i) + r.Int64N(max(step, 1))
	row[5] = unixSec(inserted)
	const minute, quarter, day = 60, 15 * 60, 86400
	var start int64
	if scheduled {
		// Announced a day to a month ahead, on a quarter hour, so that
		// many downtimes share a start.
		start = inserted + day + r.Int64N(29*day)
		start -= start % quarter
	} else {
		// Declared after the fact.
		start = inserted - r.Int64N(6*3600)
		start -= start % minute
	}
	row[6] = unixSec(start)
	quarters := 1 + min(int64(r.ExpFloat64()*16), 20*96)
	row[7] = unixSec(start + quarters*quarter)

	site := g.sites.pick(r)
	service := g.services.pick(r)
	host := &g.hosts[site][service][r.IntN(hostsPerService)]
	row[8] = host.name
	row[9] = g.serviceTypes[service]
	row[10] = g.siteNames[site]

	row[11] = host.endpoint
	g.buf = strconv.AppendInt(append(g.buf[:0], portalURL...), id, 10)
	row[12] = string(g.buf)
	// Many downtimes name the service alone, without its endpoints.
	if g.extra.Float64() < 0.35 {
		row[13] = host.affected[0]
	} else {
		row[13] = host.affected[1+g.extra.IntN(len(host.affected)-1)]
	}
	row[14] = g.siteNGIs[site]
	row[15] = host.scopes
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
