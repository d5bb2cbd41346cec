package demo

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"folio/dataset"
	"folio/engine"
)

// element is a chemical element and how often it appears in materials
// databases, relative to the others.
type element struct {
	symbol string
	weight int
}

// elementTable is sorted by symbol (byte order), so that sorting indexes
// sorts symbols. Oxygen dominates, as it does in NOMAD.
var elementTable = []element{
	{"Ag", 3}, {"Al", 6}, {"As", 3}, {"Au", 2}, {"B", 4}, {"Ba", 4}, {"Be", 1}, {"Bi", 3},
	{"Br", 3}, {"C", 8}, {"Ca", 4}, {"Cd", 2}, {"Ce", 2}, {"Cl", 4}, {"Co", 5}, {"Cr", 3},
	{"Cs", 2}, {"Cu", 6}, {"Dy", 1}, {"Er", 1}, {"Eu", 1}, {"F", 6}, {"Fe", 7}, {"Ga", 3},
	{"Gd", 1}, {"Ge", 3}, {"H", 8}, {"Hf", 1}, {"Hg", 1}, {"I", 2}, {"In", 3}, {"Ir", 1},
	{"K", 4}, {"La", 3}, {"Li", 7}, {"Mg", 5}, {"Mn", 6}, {"Mo", 3}, {"N", 6}, {"Na", 5},
	{"Nb", 2}, {"Nd", 1}, {"Ni", 5}, {"O", 30}, {"P", 5}, {"Pb", 2}, {"Pd", 2}, {"Pt", 2},
	{"Rb", 1}, {"Re", 1}, {"Rh", 1}, {"Ru", 1}, {"S", 7}, {"Sb", 3}, {"Sc", 1}, {"Se", 4},
	{"Si", 5}, {"Sm", 1}, {"Sn", 3}, {"Sr", 3}, {"Ta", 1}, {"Tb", 1}, {"Te", 3}, {"Ti", 4},
	{"Tl", 1}, {"V", 3}, {"W", 2}, {"Y", 2}, {"Zn", 4}, {"Zr", 2},
}

// method is a NOMAD method name and the programs that produce it.
type method struct {
	name     string
	weight   int
	programs []string
	pweights []int
}

var methodTable = []method{
	{"DFT", 800, []string{"VASP", "FHI-aims", "Quantum Espresso", "exciting", "ABINIT", "CASTEP", "CP2K", "GPAW", "WIEN2k", "CRYSTAL", "Gaussian", "SIESTA", "ORCA"},
		[]int{35, 12, 15, 5, 5, 4, 6, 4, 3, 3, 4, 2, 2}},
	{"GW", 40, []string{"exciting", "FHI-aims", "VASP", "BerkeleyGW", "Yambo"}, []int{3, 3, 2, 2, 2}},
	{"BSE", 10, []string{"exciting", "Yambo", "BerkeleyGW"}, []int{2, 1, 1}},
	{"DMFT", 10, []string{"w2dynamics", "TRIQS"}, []int{1, 1}},
	{"TB", 20, []string{"DFTB+", "xtb"}, []int{2, 1}},
	{"EELS", 60, []string{"EELS DB", "Nion Swift"}, []int{3, 1}},
	{"XRD", 40, []string{"GSAS-II", "FullProf"}, []int{1, 1}},
	{"XPS", 20, []string{"CasaXPS"}, []int{1}},
}

var entryColumns = []dataset.Column{
	{Name: "entry_id", Type: engine.TypeText},
	{Name: "upload_id", Type: engine.TypeText},
	{Name: "upload_create_time", Type: engine.TypeTime},
	{Name: "entry_create_time", Type: engine.TypeTime},
	{Name: "formula", Type: engine.TypeText},
	{Name: "elements", Type: engine.TypeJSON},
	{Name: "n_elements", Type: engine.TypeInt},
	{Name: "n_atoms", Type: engine.TypeInt},
	{Name: "band_gap", Type: engine.TypeFloat, Nullable: true},
	{Name: "method", Type: engine.TypeText},
	{Name: "program_name", Type: engine.TypeText},
	{Name: "public", Type: engine.TypeBool},
}

func entriesTable(n int, seed int64) *dataset.Table {
	return &dataset.Table{
		Name:    "entries",
		Columns: entryColumns,
		Key:     []string{"entry_id"},
		Indexes: []dataset.Index{
			{Name: "entries_upload_create_time", Columns: []string{"upload_create_time", "entry_id"}},
			{Name: "entries_entry_create_time", Columns: []string{"entry_create_time", "entry_id"}},
			{Name: "entries_upload_id", Columns: []string{"upload_id", "entry_id"}},
			{Name: "entries_band_gap", Columns: []string{"band_gap", "entry_id"}},
		},
		Len: n,
		Rows: func(yield func([]engine.Value) bool) {
			g := newEntryGen(seed)
			row := make([]engine.Value, len(entryColumns))
			for i := 0; i < n; {
				size := min(g.nextUpload(), n-i)
				for range size {
					g.entry(row, uint64(i))
					i++
					if !yield(row) {
						return
					}
				}
			}
		},
	}
}

const (
	maxUploadSize   = 500
	maxElements     = 8
	nullBandGap     = 0.30
	publicShare     = 0.90
	tiOUploadsShare = 0.012 // uploads studying titanium oxides, on top of chance
)

// entryGen holds the state of one pass over the entries table.
type entryGen struct {
	r                 *rand.Rand
	entryKey, upKey   uint64
	uploads           uint64
	elements          weights
	methods           weights
	programs          []weights
	methodNames       []engine.Value
	programNames      [][]engine.Value
	zero              engine.Value // a boxed 0.0 band gap, shared by metals
	nBase, nExtra     weights
	count, cellFactor weights
	oxygen, titanium  int // indexes in elementTable

	// the current upload
	uploadID, uploadTime engine.Value
	uploadMicros         int64
	method, program      int
	base                 []int

	// scratch for one entry
	picked []int
	counts []int
	buf    []byte
}

func newEntryGen(seed int64) *entryGen {
	r := newRand(seed, streamEntries)
	g := &entryGen{
		r:          r,
		entryKey:   r.Uint64(),
		upKey:      r.Uint64(),
		nBase:      newWeights(30, 45, 25),                // 1, 2 or 3 elements shared by an upload
		nExtra:     newWeights(35, 35, 20, 10),            // 0–3 more per entry
		count:      newWeights(50, 25, 12, 6, 3, 2, 1, 1), // atoms of one element in the formula unit
		cellFactor: newWeights(40, 30, 20, 10),            // formula units per cell: 1, 2, 4, 8
		zero:       0.0,
		oxygen:     elementIndex("O"),
		titanium:   elementIndex("Ti"),
		picked:     make([]int, 0, maxElements),
		counts:     make([]int, 0, maxElements),
		buf:        make([]byte, 0, 128),
	}
	w := make([]int, len(elementTable))
	for i, e := range elementTable {
		w[i] = e.weight
	}
	g.elements = newWeights(w...)
	mw := make([]int, len(methodTable))
	for i, m := range methodTable {
		mw[i] = m.weight
		g.methodNames = append(g.methodNames, m.name)
		g.programs = append(g.programs, newWeights(m.pweights...))
		g.programNames = append(g.programNames, texts(m.programs...))
	}
	g.methods = newWeights(mw...)
	return g
}

var (
	uploadsFrom = date(2014, time.January, 1).UnixMicro()
	uploadsTo   = date(2026, time.January, 1).UnixMicro()
)

// nextUpload starts a new upload and returns its size, 1–500, log-uniform so
// that most uploads are small and a few are large.
func (g *entryGen) nextUpload() int {
	r := g.r
	size := min(int(math.Exp(r.Float64()*math.Log(maxUploadSize+1))), maxUploadSize)
	g.uploadID = nomadID(r, g.uploads, g.upKey)
	g.uploads++
	// Skewed towards recent years: NOMAD grows.
	g.uploadMicros = uploadsFrom + int64(float64(uploadsTo-uploadsFrom)*math.Pow(r.Float64(), 0.6))
	g.uploadTime = unixMicro(g.uploadMicros)
	g.method = g.methods.pick(r)
	g.program = g.programs[g.method].pick(r)
	g.base = g.base[:0]
	if r.Float64() < tiOUploadsShare {
		g.base = append(g.base, g.oxygen, g.titanium)
	} else {
		for range g.nBase.pick(r) + 1 {
			g.base = addElement(g.base, g.elements.pick(r))
		}
	}
	return max(size, 1)
}

// entry fills row with entry number i (counted over the whole table), a
// member of the current upload.
func (g *entryGen) entry(row []engine.Value, i uint64) {
	r := g.r
	row[0] = nomadID(r, i, g.entryKey)
	row[1] = g.uploadID
	row[2] = g.uploadTime
	// Entries are processed after the upload is created: seconds to days later.
	row[3] = unixMicro(g.uploadMicros + int64(r.ExpFloat64()*3*float64(time.Hour/time.Microsecond)))

	g.picked = append(g.picked[:0], g.base...)
	for range g.nExtra.pick(r) {
		if len(g.picked) < maxElements {
			g.picked = addElement(g.picked, g.elements.pick(r))
		}
	}
	slices.Sort(g.picked)
	g.counts = g.counts[:0]
	d, sum := 0, 0
	for range g.picked {
		c := g.count.pick(r) + 1
		g.counts = append(g.counts, c)
		d = gcd(d, c)
	}
	var syms [maxElements]string
	for k, e := range g.picked {
		g.counts[k] /= d // the reduced formula, as NOMAD's chemical_formula_hill
		sum += g.counts[k]
		syms[k] = elementTable[e].symbol
	}
	g.buf = appendHill(g.buf[:0], syms[:len(g.picked)], g.counts)
	row[4] = string(g.buf)
	g.buf = appendJSONStrings(g.buf[:0], syms[:len(g.picked)])
	row[5] = string(g.buf)
	row[6] = int64(len(g.picked))
	row[7] = int64(sum << g.cellFactor.pick(r))

	switch {
	case r.Float64() < nullBandGap:
		row[8] = nil
	case r.Float64() < 0.25: // metals
		row[8] = g.zero
	default:
		// Log-normal around 1.3 eV, rounded to 0.1 meV so that ties occur.
		row[8] = min(math.Round(math.Exp(0.3+0.8*r.NormFloat64())*1e4)/1e4, 15)
	}
	row[9] = g.methodNames[g.method]
	row[10] = g.programNames[g.method][g.program]
	row[11] = r.Float64() < publicShare
}

// elementIndex returns the index of a symbol in elementTable.
func elementIndex(symbol string) int {
	for i, e := range elementTable {
		if e.symbol == symbol {
			return i
		}
	}
	panic("demo: unknown element " + symbol)
}

// addElement appends e to set unless it is there already.
func addElement(set []int, e int) []int {
	for _, x := range set {
		if x == e {
			return set
		}
	}
	return append(set, e)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// appendHill appends the Hill formula of the elements syms, sorted by
// symbol, with the given counts: carbon first and hydrogen second when there
// is carbon, every other element alphabetically; a count of 1 is not written.
func appendHill(dst []byte, syms []string, counts []int) []byte {
	carbon := slices.Index(syms, "C")
	if carbon < 0 {
		for k, s := range syms {
			dst = appendCount(dst, s, counts[k])
		}
		return dst
	}
	dst = appendCount(dst, "C", counts[carbon])
	if h := slices.Index(syms, "H"); h >= 0 {
		dst = appendCount(dst, "H", counts[h])
	}
	for k, s := range syms {
		if s != "C" && s != "H" {
			dst = appendCount(dst, s, counts[k])
		}
	}
	return dst
}

func appendCount(dst []byte, symbol string, count int) []byte {
	dst = append(dst, symbol...)
	if count != 1 {
		dst = strconv.AppendInt(dst, int64(count), 10)
	}
	return dst
}

// appendJSONStrings appends a JSON array of strings that need no escaping.
func appendJSONStrings(dst []byte, s []string) []byte {
	dst = append(dst, '[')
	for k, x := range s {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, x...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}
