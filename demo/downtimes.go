package demo

import (
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

// gridRegions are the regional prefixes GOCDB site names start with.
var gridRegions = []string{"UKI", "IN2P3", "INFN", "DE", "NL", "PL", "CZ", "ES", "NDGF", "CH", "GR", "PT", "IL", "TW", "AU", "CA"}

// gridServices are GOCDB service types and the host names they run on.
var gridServices = []struct {
	kind, host string
	weight     int
}{
	{"CREAM-CE", "ce", 10}, {"ARC-CE", "arc", 12}, {"org.opensciencegrid.htcondorce", "htcce", 10},
	{"SRM", "srm", 15}, {"webdav", "webdav", 8}, {"XRootD", "xrootd", 8}, {"Top-BDII", "topbdii", 3},
	{"Site-BDII", "sbdii", 5}, {"APEL", "apel", 3}, {"org.squid-cache.Squid", "squid", 4},
	{"net.perfSONAR.Bandwidth", "ps-bw", 3}, {"net.perfSONAR.Latency", "ps-lat", 3}, {"FTS", "fts", 2},
	{"VOMS", "voms", 1}, {"MyProxy", "myproxy", 1}, {"eu.egi.cloud.vm-management.occi", "cloud", 2},
}

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
}

func downtimesTable(n int, seed int64) *dataset.Table {
	return &dataset.Table{
		Name:    "downtimes",
		Columns: downtimeColumns,
		Key:     "id",
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
	sites                   weights
	services                weights
	scheduledDescriptions   weights
	unscheduledDescriptions weights
	siteNames               []engine.Value
	serviceTypes            []engine.Value
	hosts                   [][][]engine.Value // site, service, host number
	buf                     []byte
}

const hostsPerService = 3

func newDowntimeGen(seed int64) *downtimeGen {
	g := &downtimeGen{
		r:                       newRand(seed, streamDowntimes),
		scheduledDescriptions:   uniform(len(scheduledDescriptions)),
		unscheduledDescriptions: uniform(len(unscheduledDescriptions)),
		buf:                     make([]byte, 0, 16),
	}
	sw := make([]int, len(gridPlaces))
	for i, place := range gridPlaces {
		sw[i] = 1 + 40/(i+1) // a few busy sites, a long tail
		region := gridRegions[i%len(gridRegions)]
		g.siteNames = append(g.siteNames, region+"-"+strings.ToUpper(asciiPlace(place)))
		domain := "grid." + strings.ToLower(asciiPlace(place)) + ".example"
		var hosts [][]engine.Value
		for _, s := range gridServices {
			var h []engine.Value
			for k := 1; k <= hostsPerService; k++ {
				h = append(h, fmt.Sprintf("%s%02d.%s", s.host, k, domain))
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
	row[8] = g.hosts[site][service][r.IntN(hostsPerService)]
	row[9] = g.serviceTypes[service]
	row[10] = g.siteNames[site]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
