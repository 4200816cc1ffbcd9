"""Other names of countries and regions: demonyms ("Dutch" → Netherlands) and common short forms.

General world knowledge, so a question saying "Swiss" finds an article saying "Switzerland"; it
says nothing about any particular article.
"""

from __future__ import annotations

ALIASES: dict[str, tuple[str, ...]] = {
    "afghan": ("afghanistan",), "albanian": ("albania",), "algerian": ("algeria",), "american": ("america", "united states"),
    "argentine": ("argentina",), "argentinian": ("argentina",), "armenian": ("armenia",), "australian": ("australia",),
    "austrian": ("austria",), "azerbaijani": ("azerbaijan",), "azeri": ("azerbaijan",), "bahraini": ("bahrain",),
    "bangladeshi": ("bangladesh",), "belarusian": ("belarus",), "belgian": ("belgium",), "bolivian": ("bolivia",),
    "brazilian": ("brazil",), "british": ("united kingdom", "britain"), "britain": ("united kingdom",), "uk": ("united kingdom", "britain"),
    "bulgarian": ("bulgaria",), "cambodian": ("cambodia",), "canadian": ("canada",), "chilean": ("chile",), "chinese": ("china",),
    "colombian": ("colombia",), "croatian": ("croatia",), "cuban": ("cuba",), "czech": ("czechia", "czech republic"),
    "danish": ("denmark",), "dutch": ("netherlands", "holland"), "holland": ("netherlands",), "ecuadorian": ("ecuador",),
    "egyptian": ("egypt",), "emirati": ("united arab emirates", "uae"), "english": ("england",), "estonian": ("estonia",),
    "ethiopian": ("ethiopia",), "european": ("europe",), "african": ("africa",), "asian": ("asia",), "finnish": ("finland",),
    "french": ("france",), "georgian": ("georgia",), "german": ("germany",), "ghanaian": ("ghana",), "greek": ("greece",),
    "hawaiian": ("hawaii",), "hungarian": ("hungary",), "icelandic": ("iceland",), "indian": ("india",),
    "indonesian": ("indonesia",), "iranian": ("iran",), "persian": ("iran",), "iraqi": ("iraq",), "irish": ("ireland",),
    "israeli": ("israel",), "italian": ("italy",), "japanese": ("japan",), "jordanian": ("jordan",),
    "kazakh": ("kazakhstan",), "kazakhstani": ("kazakhstan",), "kenyan": ("kenya",), "korean": ("korea",), "kuwaiti": ("kuwait",),
    "laotian": ("laos",), "latvian": ("latvia",), "lebanese": ("lebanon",), "libyan": ("libya",), "lithuanian": ("lithuania",),
    "malaysian": ("malaysia",), "mexican": ("mexico",), "mongolian": ("mongolia",), "moroccan": ("morocco",),
    "nepalese": ("nepal",), "nepali": ("nepal",), "nicaraguan": ("nicaragua",), "nigerian": ("nigeria",), "norwegian": ("norway",),
    "omani": ("oman",), "pakistani": ("pakistan",), "palestinian": ("palestine",), "peruvian": ("peru",),
    "philippine": ("philippines",), "filipino": ("philippines",), "polish": ("poland",), "portuguese": ("portugal",),
    "qatari": ("qatar",), "romanian": ("romania",), "russian": ("russia",), "saudi": ("saudi arabia",), "scottish": ("scotland",),
    "senegalese": ("senegal",), "serbian": ("serbia",), "singaporean": ("singapore",), "slovak": ("slovakia",),
    "slovenian": ("slovenia",), "somali": ("somalia",), "spanish": ("spain",), "sri lankan": ("sri lanka",),
    "sudanese": ("sudan",), "swedish": ("sweden",), "swiss": ("switzerland",), "syrian": ("syria",), "taiwanese": ("taiwan",),
    "tanzanian": ("tanzania",), "thai": ("thailand",), "tunisian": ("tunisia",), "turkish": ("türkiye", "turkey"),
    "turkey": ("türkiye",), "türkiye": ("turkey",), "ugandan": ("uganda",), "ukrainian": ("ukraine",), "uruguayan": ("uruguay",),
    "us": ("united states", "america"), "usa": ("united states", "america"), "uzbek": ("uzbekistan",),
    "venezuelan": ("venezuela",), "vietnamese": ("vietnam", "viet nam"), "welsh": ("wales",), "yemeni": ("yemen",),
    "zambian": ("zambia",), "zimbabwean": ("zimbabwe",), "soviet": ("russia", "ussr"),
}
