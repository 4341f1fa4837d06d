package pricing

// minorUnits is the ISO 4217 number of decimals of the currencies OpenCPO prices in: the
// European ones first (HUF has two by ISO 4217, although cash rounds to whole forints), then
// the common others. A tariff in a currency missing here fails Validate rather than being
// rounded by guess.
var minorUnits = map[string]int32{
	"EUR": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2,
	"RON": 2, "BGN": 2, "RSD": 2, "BAM": 2, "MKD": 2, "ALL": 2, "MDL": 2, "UAH": 2, "GEL": 2,
	"TRY": 2, "ISK": 0,
	"USD": 2, "CAD": 2, "MXN": 2, "BRL": 2, "ARS": 2, "CLP": 0, "COP": 2, "PEN": 2, "UYU": 2,
	"AUD": 2, "NZD": 2, "JPY": 0, "KRW": 0, "CNY": 2, "HKD": 2, "TWD": 2, "SGD": 2, "MYR": 2,
	"THB": 2, "IDR": 2, "PHP": 2, "VND": 0, "INR": 2,
	"ILS": 2, "AED": 2, "SAR": 2, "QAR": 2, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
	"ZAR": 2, "EGP": 2, "MAD": 2, "KES": 2, "NGN": 2, "XOF": 0, "XAF": 0,
}

// MinorUnits returns the number of decimals of an ISO 4217 currency (2 for EUR, 0 for JPY) and
// whether OpenCPO knows it.
func MinorUnits(currency string) (int32, bool) {
	n, ok := minorUnits[currency]
	return n, ok
}
