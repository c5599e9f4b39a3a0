"""The dashboard's two languages: Bahasa Indonesia (default) and English.

A message is one key with its two texts; formatting numbers, money, shares and dates is
here too, because Indonesian writes 1.234.567,5 where English writes 1,234,567.5.
"""

# ruff: noqa: RUF001 - typographic dashes, minus and times signs are meant for the reader

from __future__ import annotations

from dataclasses import dataclass

from shared.language import DEFAULT_LANG, LANGS

DASH = "–"

# key: (Bahasa Indonesia, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "app_name": ("Lumbung", "Lumbung"),
    "tagline": ("Ketahanan ekonomi keluarga desa", "Village family economic resilience"),
    "skip": ("Langsung ke isi", "Skip to content"),
    "language": ("Bahasa", "Language"),
    "logout": ("Keluar", "Sign out"),
    "login": ("Masuk", "Sign in"),
    "login_title": ("Masuk ke dasbor", "Sign in to the dashboard"),
    "login_help": (
        "Tempel token akses yang Anda terima dari admin kabupaten. Token disimpan hanya di "
        "peramban ini dan menentukan desa yang boleh Anda lihat.",
        "Paste the access token you received from the district administrator. It is kept "
        "only in this browser and decides which villages you may see.",
    ),
    "login_cli": (
        "Admin membuat token dengan perintah:",
        "An administrator mints a token with:",
    ),
    "token": ("Token akses", "Access token"),
    "login_bad": (
        "Token tidak sah atau sudah kedaluwarsa. Coba lagi.",
        "The token is invalid or has expired. Try again.",
    ),
    "token_link_gone": (
        "Tautan masuk yang memuat token tidak berlaku lagi: tautan masuk kini sekali pakai dan "
        "hanya berlaku beberapa menit. Minta tautan baru kepada admin kabupaten, atau tempel "
        "token akses Anda di bawah.",
        "Sign-in links that carry a token no longer work: a sign-in link now works once and "
        "only for a few minutes. Ask the district administrator for a new link, or paste your "
        "access token below.",
    ),
    "confirm_title": ("Masuk dengan tautan ini?", "Sign in with this link?"),
    "confirm_as": ("Anda akan masuk sebagai:", "You are about to sign in as:"),
    "confirm_subject": ("Akun", "Account"),
    "confirm_role": ("Peran", "Role"),
    "confirm_valid": ("Berlaku", "Valid"),
    "confirm_minutes": (
        "{minutes} menit lagi, sekali pakai",
        "{minutes} more minutes, once",
    ),
    "confirm_check": (
        "Lanjutkan hanya bila ini akun Anda: apa pun yang Anda catat akan tercatat atas nama "
        "akun ini. Bila bukan, tutup halaman ini.",
        "Continue only if this is your account: whatever you record will be recorded under "
        "this account. If it is not, close this page.",
    ),
    "confirm_replace": (
        "Saat ini Anda masuk sebagai {sub} ({role}); sesi itu akan diganti.",
        "You are signed in as {sub} ({role}) now; that session will be replaced.",
    ),
    "confirm_yes": ("Ya, masuk", "Yes, sign in"),
    "cancel": ("Batal", "Cancel"),
    "role_district_admin": ("Admin kabupaten", "District administrator"),
    "role_village_operator": ("Operator desa", "Village operator"),
    "role_extension_worker": ("Penyuluh", "Extension worker"),
    "role_viewer": ("Pengamat (hanya melihat)", "Viewer (read only)"),
    "code_malformed": ("Tautan masuk tidak sah", "Invalid sign-in link"),
    "code_malformed_help": (
        "Tautan ini rusak atau bukan tautan masuk dasbor ini. Salin seluruh tautan, atau "
        "minta tautan baru.",
        "This link is damaged or not a sign-in link of this dashboard. Copy the whole link, "
        "or ask for a new one.",
    ),
    "code_expired": ("Tautan masuk sudah kedaluwarsa", "The sign-in link has expired"),
    "code_expired_help": (
        "Tautan masuk berlaku {minutes} menit sejak dibuat. Minta tautan baru kepada admin "
        "kabupaten.",
        "A sign-in link works for {minutes} minutes after it is made. Ask the district "
        "administrator for a new one.",
    ),
    "code_used": ("Tautan masuk sudah dipakai", "The sign-in link has been used"),
    "code_used_help": (
        "Setiap tautan masuk hanya bisa dipakai sekali. Bila bukan Anda yang memakainya, "
        "beri tahu admin kabupaten.",
        "A sign-in link works only once. If it was not you who used it, tell the district "
        "administrator.",
    ),
    "link_cli": (
        "Admin membuat tautan masuk baru dengan perintah:",
        "An administrator makes a new sign-in link with:",
    ),
    "cross_site": ("Permintaan dari situs lain ditolak", "Request from another site refused"),
    "cross_site_help": (
        "Formulir dasbor hanya diterima dari halaman dasbor ini sendiri. Buka dasbor, lalu "
        "coba lagi.",
        "The dashboard accepts its forms only from its own pages. Open the dashboard and try "
        "again.",
    ),
    "logout_title": ("Keluar dari dasbor?", "Sign out of the dashboard?"),
    "logout_help": (
        "Token akses akan dihapus dari peramban ini.",
        "The access token will be removed from this browser.",
    ),
    "signed_in_as": ("Masuk sebagai", "Signed in as"),
    "month": ("Bulan", "Month"),
    "show": ("Tampilkan", "Show"),
    "as_of": ("Per bulan", "As of"),
    "rule_set": ("Aturan", "Rule set"),
    "home": ("Beranda", "Home"),
    "district": ("Kabupaten", "District"),
    "village": ("Desa", "Village"),
    "villages": ("Desa", "Villages"),
    "my_villages": ("Desa saya", "My villages"),
    "household": ("Rumah tangga", "Household"),
    "households": ("Rumah tangga", "Households"),
    "program": ("Program", "Programme"),
    "programs": ("Program pelatihan", "Training programmes"),
    "no_programs": ("Belum ada program.", "No programme yet."),
    "code": ("Kode", "Code"),
    "name": ("Nama", "Name"),
    "index": ("Indeks ketahanan", "Resilience index"),
    "index_short": ("Indeks", "Index"),
    "index_mean": ("Rata-rata indeks", "Mean index"),
    "band": ("Kelompok", "Band"),
    "band_rentan": ("Rentan", "Vulnerable"),
    "band_berkembang": ("Berkembang", "Developing"),
    "band_tangguh": ("Tangguh", "Resilient"),
    "band_none": ("Belum ada data", "No data yet"),
    "band_rule": (
        "Rentan di bawah {a}, berkembang {a}–{b}, tangguh mulai {b}.",
        "Vulnerable below {a}, developing {a}–{b}, resilient from {b}.",
    ),
    "coverage": ("Cakupan data", "Data coverage"),
    "coverage_short": ("Cakupan", "Coverage"),
    "with_data": ("Rumah tangga berdata", "Households with data"),
    "with_data_short": ("Berdata", "With data"),
    "villages_rentan": ("Desa rentan", "Vulnerable villages"),
    "table_legend": (
        "Indeks: rata-rata indeks rumah tangga berdata. Cakupan: bagian rumah tangga terdaftar "
        "yang sudah berdata. Berdata: jumlah rumah tangga dengan data.",
        "Index: mean index of the households with data. Coverage: share of registered "
        "households that have data. With data: households with data.",
    ),
    "registered": ("Rumah tangga terdaftar", "Registered households"),
    "district_figures": ("Angka kabupaten", "District figures"),
    "village_count": ("Jumlah desa", "Villages"),
    "villages_table": ("Desa di kabupaten ini", "Villages of this district"),
    "villages_table_mine": ("Desa dalam akses Anda", "Villages you can see"),
    "sort_by": ("Urutkan menurut", "Sort by"),
    "sorted_asc": ("naik", "ascending"),
    "sorted_desc": ("turun", "descending"),
    "pillars": ("Enam pilar", "Six pillars"),
    "pillars_help": (
        "Rata-rata nilai tiap pilar (0–1) atas rumah tangga berdata.",
        "Mean of each pillar (0–1) over the households with data.",
    ),
    "pillar_income": ("Pendapatan", "Income"),
    "pillar_diversity": ("Keragaman usaha", "Diversity"),
    "pillar_digital": ("Digital", "Digital"),
    "pillar_capacity": ("Kapasitas", "Capacity"),
    "pillar_assets": ("Aset", "Assets"),
    "pillar_green": ("Praktik hijau", "Green practices"),
    "idm_title": ("Indeks Desa Membangun (IDM)", "Village Development Index (IDM)"),
    "idm_help": (
        "Angka Kemendesa untuk desa ini (0–1), di samping enam pilar Lumbung: ketahanan "
        "ekonomi (IKE) dan lingkungan (IKL) desa, bukan rumah tangga.",
        "Kemendesa's figures for this village (0–1), beside Lumbung's six pillars: the "
        "village's economic (IKE) and ecological (IKL) resilience, not the households'.",
    ),
    "idm_index": ("Indeks", "Index"),
    "idm_value": ("Nilai", "Value"),
    "idm_ike": ("Indeks Ketahanan Ekonomi (IKE)", "Economic resilience index (IKE)"),
    "idm_ikl": ("Indeks Ketahanan Lingkungan (IKL)", "Ecological resilience index (IKL)"),
    "idm_iks": ("Indeks Ketahanan Sosial (IKS)", "Social resilience index (IKS)"),
    "idm_score": ("Skor IDM", "IDM score"),
    "idm_status": ("Status", "Status"),
    "idm_year": ("tahun", "year"),
    "idm_none": (
        "Belum ada data IDM untuk tahun ini atau sebelumnya (impor: lumbung import idm).",
        "No IDM for this year or earlier yet (import: lumbung import idm).",
    ),
    "idm_status_sangat_tertinggal": ("Sangat tertinggal", "Very underdeveloped"),
    "idm_status_tertinggal": ("Tertinggal", "Underdeveloped"),
    "idm_status_berkembang": ("Berkembang", "Developing"),
    "idm_status_maju": ("Maju", "Advanced"),
    "idm_status_mandiri": ("Mandiri", "Independent"),
    "bands_title": ("Sebaran kelompok", "Band distribution"),
    "bands_help": (
        "Jumlah rumah tangga berdata di tiap kelompok.",
        "Households with data in each band.",
    ),
    "trend_title": ("Tren 12 bulan", "12-month trend"),
    "trend_help": (
        "Rata-rata indeks desa per bulan; garis putus-putus adalah batas kelompok.",
        "The village's mean index per month; dashed lines are the band thresholds.",
    ),
    "data_table": ("Tabel data", "Data table"),
    "income_title": ("Pendapatan per sektor (12 bulan)", "Income by sector (12 months)"),
    "income_total": ("Total pendapatan", "Total income"),
    "digital_share": ("Bagian penjualan digital", "Digital share of sales"),
    "digital_sales": ("Penjualan digital", "Digital sales"),
    "umkm_active": ("UMKM aktif berjualan", "Small businesses selling"),
    "green_rate": ("Mengadopsi praktik hijau", "Adopting green practices"),
    "sector_umkm": ("UMKM", "Small business (UMKM)"),
    "sector_crop": ("Hasil tani", "Crops"),
    "sector_livestock": ("Ternak", "Livestock"),
    "funnel_title": ("Jalur pelatihan", "Training pathway"),
    "funnel_help": (
        "Pelatihan bukan tujuan: yang dihitung adalah sampai mana peserta melangkah.",
        "Training is not the goal: what counts is how far participants get.",
    ),
    "participants": ("Peserta", "Participants"),
    "mean_ngain": ("Rata-rata N-gain", "Mean N-gain"),
    "stage": ("Tahap", "Stage"),
    "stage_0": ("Terdaftar", "Enrolled"),
    "stage_1": ("Dilatih", "Trained"),
    "stage_2": ("Paham", "Understood"),
    "stage_3": ("Berjualan online", "Selling online"),
    "stage_4": ("Berkelanjutan", "Sustained"),
    "follow_ups": ("Perlu didampingi", "Needs a follow-up"),
    "follow_ups_help": (
        "Peserta yang belum sampai tahap berkelanjutan, programnya sudah selesai, dan belum "
        "dikunjungi pendamping bulan ini atau bulan lalu.",
        "Participants not yet sustained whose programme has ended and who had no mentoring "
        "visit this month or last month.",
    ),
    "no_follow_ups": ("Tidak ada yang perlu didampingi.", "Nobody needs a follow-up."),
    "last_mentoring": ("Kunjungan pendamping terakhir", "Last mentoring visit"),
    "never": ("Belum pernah", "Never"),
    "needs_follow_up": ("Perlu didampingi", "Needs follow-up"),
    "yes": ("Ya", "Yes"),
    "no": ("Tidak", "No"),
    "see_households": ("Lihat semua rumah tangga", "See all households"),
    "households_title": ("Rumah tangga di {name}", "Households in {name}"),
    "households_help": (
        "Indeks tiap rumah tangga terdaftar. Buka satu rumah tangga untuk melihat alasannya.",
        "Each registered household's index. Open one to see why.",
    ),
    "no_data_yet": ("belum ada data", "no data yet"),
    "household_title": ("Rumah tangga {id}", "Household {id}"),
    "why_title": ("Mengapa kelompok ini?", "Why this band?"),
    "why_band": (
        "Indeks {index} berada pada kelompok {band} ({rule}).",
        "An index of {index} is in the band {band} ({rule}).",
    ),
    "why_lost": (
        "Poin terbanyak hilang di: {pillars}.",
        "Most points are lost on: {pillars}.",
    ),
    "why_shock": (
        "Guncangan menurunkan indeks sebesar {pct}.",
        "Shocks lower the index by {pct}.",
    ),
    "why_nodata": (
        "Rumah tangga ini belum punya data pelatihan, usaha, tani atau ternak sampai bulan ini, "
        "jadi belum dihitung dalam rata-rata desa.",
        "This household has no training, business, farming or livestock fact up to this "
        "month yet, so it is not counted in the village mean.",
    ),
    "how_title": ("Bagaimana indeks dihitung", "How the index is computed"),
    "how_formula": (
        "indeks = 100 × faktor guncangan × Σ (bobot × nilai pilar)",
        "index = 100 × shock factor × Σ (weight × pillar value)",
    ),
    "how_rounding": (
        "Poin dibulatkan untuk ditampilkan; indeks dihitung dari nilai yang tidak dibulatkan.",
        "Points are rounded for display; the index is computed from unrounded values.",
    ),
    "pillar": ("Pilar", "Pillar"),
    "value": ("Nilai", "Value"),
    "weight": ("Bobot", "Weight"),
    "points": ("Poin", "Points"),
    "points_max": ("Maks.", "Max."),
    "points_lost": ("Hilang", "Lost"),
    "sum": ("Jumlah", "Sum"),
    "shock_factor": ("Faktor guncangan", "Shock factor"),
    "window": ("Jendela 12 bulan", "12-month window"),
    "members": ("Anggota rumah tangga", "Household members"),
    "raw_numbers": ("Angka di balik tiap pilar", "The numbers behind each pillar"),
    "ex_income_total": ("Pendapatan dalam jendela", "Income in the window"),
    "ex_members": ("Anggota", "Members"),
    "ex_per_capita": ("Per orang per bulan", "Per person per month"),
    "ex_target": (
        "Target ({multiple} × garis kemiskinan {line})",
        "Target ({multiple} × poverty line {line})",
    ),
    "ex_shares": ("Bagian sektor", "Sector shares"),
    "ex_channels": ("Kanal digital dengan penjualan", "Digital channels with a sale"),
    "ex_post": ("u: nilai post-test terakhir", "u: latest post-test score"),
    "ex_confidence": (
        "c: keyakinan terakhir (skala 1–5)",
        "c: latest confidence (1–5 scale)",
    ),
    "ex_mentoring": (
        "m: kunjungan pendamping, {n} bulan terakhir",
        "m: mentoring visits, last {n} months",
    ),
    "ex_tlu": ("Ternak (TLU)", "Livestock (TLU)"),
    "ex_hectares": ("Lahan (ha)", "Land (ha)"),
    "ex_capital": ("Modal diterima dalam jendela", "Capital received in the window"),
    "ex_practices": ("Praktik hijau diadopsi", "Green practices adopted"),
    "ex_inputs": ("Input organik / kimia (kg)", "Organic / chemical input (kg)"),
    "ex_organic_share": ("Bagian input organik", "Organic share of input"),
    "ex_shocks": ("Guncangan, {n} bulan terakhir", "Shocks, last {n} months"),
    "ex_none": ("tidak ada", "none"),
    "missing_counts_zero": ("tidak ada (dihitung 0)", "none (counts as 0)"),
    "household_income": ("Pendapatan rumah tangga (12 bulan)", "Household income (12 months)"),
    "enrolments": ("Pelatihan yang diikuti", "Training taken"),
    "no_enrolments": ("Belum ikut pelatihan.", "No training yet."),
    "program_title": ("Program: {title}", "Programme: {title}"),
    "organizer": ("Penyelenggara", "Organiser"),
    "period": ("Waktu", "Dates"),
    "topics": ("Topik", "Topics"),
    "stages_title": ("Peserta per tahap", "Participants by stage"),
    "participants_title": ("Peserta dan tahapnya", "Participants and their stage"),
    "no_participants": ("Belum ada peserta.", "No participant yet."),
    "impact_title": ("Dampak pada penjualan digital", "Impact on digital sales"),
    "impact_help": (
        "Rata-rata penjualan digital (rupiah) per rumah tangga per bulan, {k} bulan sebelum dan "
        "sesudah bulan mulai program, peserta dibanding rumah tangga lain di desa yang sama.",
        "Mean digital sales (rupiah) per household per month, {k} months before and after the "
        "programme's start month, participants against the other households of its villages.",
    ),
    "before": ("Sebelum", "Before"),
    "after": ("Sesudah", "After"),
    "comparison": ("Pembanding", "Comparison"),
    "change": ("Perubahan", "Change"),
    "did": ("Selisih dampak (DiD)", "Difference in differences"),
    "did_help": (
        "(sesudah − sebelum) peserta − (sesudah − sebelum) pembanding, rupiah per bulan.",
        "(after − before) of participants − (after − before) of the comparison, IDR a month.",
    ),
    "months_after": ("Bulan sesudah mulai yang tersedia", "Months after the start available"),
    "impact_none": (
        "Belum bisa dihitung: bulan yang dipilih belum melewati bulan mulai program.",
        "Not available yet: the chosen month is not after the programme's start month.",
    ),
    "per_month": ("per bulan", "a month"),
    "error_401": ("Silakan masuk", "Please sign in"),
    "error_403": ("Di luar akses Anda", "Outside your access"),
    "error_403_help": (
        "Token Anda tidak mencakup halaman ini. Hubungi admin kabupaten bila Anda memerlukannya.",
        "Your token does not cover this page. Ask the district administrator if you need it.",
    ),
    "error_404": ("Tidak ditemukan", "Not found"),
    "error_404_help": (
        "Halaman atau data ini tidak dikenal oleh dasbor.",
        "This page or record is not known to the dashboard.",
    ),
    "error_422": ("Permintaan tidak valid", "Invalid request"),
    "error_422_help": (
        "Periksa alamat dan bulan yang dipilih (tidak boleh setelah bulan ini).",
        "Check the address and the chosen month (it cannot be after this month).",
    ),
    "error_503": ("Sedang tidak tersedia", "Temporarily unavailable"),
    "error_503_help": (
        "Penyimpanan data tidak dapat dihubungi. Coba lagi sebentar lagi.",
        "The data store cannot be reached. Try again in a moment.",
    ),
    "error_500": ("Terjadi kesalahan", "Something went wrong"),
    "error_500_help": (
        "Kesalahan sudah dicatat. Coba lagi nanti.",
        "The error has been logged. Try again later.",
    ),
    "back_home": ("Kembali ke beranda", "Back to the home page"),
    "species_cattle": ("sapi", "cattle"),
    "species_buffalo": ("kerbau", "buffalo"),
    "species_goat": ("kambing", "goat"),
    "species_sheep": ("domba", "sheep"),
    "species_pig": ("babi", "pig"),
    "species_chicken": ("ayam", "chicken"),
    "species_duck": ("bebek", "duck"),
    "species_other": ("lainnya", "other"),
    "people": ("orang", "people"),
}

MONTHS_SHORT = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
MONTHS_LONG = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
_ID_SEPARATORS = str.maketrans({",": ".", ".": ","})


def pick_lang(value: str | None) -> str | None:
    """``value`` if it names a supported language, else None."""
    return value if value in LANGS else None


@dataclass(frozen=True)
class Translator:
    """Texts and number formats of one language, as the templates call them."""

    lang: str = DEFAULT_LANG

    def __call__(self, key: str, **fields: object) -> str:
        texts = MESSAGES[key]
        text = texts[LANGS.index(self.lang)]
        return text.format(**fields) if fields else text

    def num(self, value: float | None, places: int = 0) -> str:
        """1.234.567,8 in Indonesian, 1,234,567.8 in English; a dash for no value."""
        if value is None:
            return DASH
        text = f"{value:,.{places}f}"
        if text.startswith("-"):
            text = "−" + text[1:]
        return text.translate(_ID_SEPARATORS) if self.lang == "id" else text

    def dec(self, value: float | None, max_places: int = 3) -> str:
        """Like :meth:`num`, without trailing zeros: 1,2 ha, 150 kg, 1,95 TLU."""
        if value is None:
            return DASH
        text = f"{value:.{max_places}f}".rstrip("0").rstrip(".")
        places = len(text.partition(".")[2])
        return self.num(value, places)

    def pct(self, share: float | None, places: int = 1) -> str:
        """A share in [0, 1] as a percentage."""
        return DASH if share is None else f"{self.num(100 * share, places)}%"

    def money(self, amount: float | None, *, signed: bool = False) -> str:
        if amount is None:
            return DASH
        sign = "+" if signed and amount > 0 else ""
        return f"{sign}Rp\u00a0{self.num(amount, 0)}"

    def month(self, month: str | None, *, short: bool = False) -> str:
        if not month:
            return DASH
        year, number = month.split("-")
        names = (MONTHS_SHORT if short else MONTHS_LONG)[self.lang]
        return f"{names[int(number) - 1]} {year}"

    def day(self, day: str | None) -> str:
        if not day:
            return self("never")
        year, month, dom = day.split("-")
        return f"{int(dom)} {MONTHS_SHORT[self.lang][int(month) - 1]} {year}"

    def band(self, band: str | None) -> str:
        return self(f"band_{band}") if band else self("band_none")

    def stage(self, stage: int | str) -> str:
        return self(f"stage_{stage}")

    def pillar(self, pillar: str) -> str:
        return self(f"pillar_{pillar}")

    def sector(self, sector: str) -> str:
        return self(f"sector_{sector}")

    def species(self, species: str) -> str:
        key = f"species_{species}"
        return self(key) if key in MESSAGES else species

    def words(self, items: list[str]) -> str:
        return ", ".join(i.replace("_", " ") for i in items) if items else self("ex_none")
