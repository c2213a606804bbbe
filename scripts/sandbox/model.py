"""The account the sandbox models and the limits it keeps."""

# ---------------------------------------------------------------------------
# The account the sandbox models. Every endpoint is served from these tables
# (the control API and --extra-field work on copies), so keep them the only
# source of truth.
# ---------------------------------------------------------------------------
ACCOUNT = {
    "id": 31000001,
    "name": "intermigro",
    "subdomain": "intermigro",
    "current_user_id": 11000001,
    "country": "RU",
    "currency": "RUB",
    "is_unsorted_on": True,
}

# The account's users. responsible_user_id, created_by and updated_by must name
# one of them; created_by/updated_by may also be 0 ("made by a robot", as
# Kommo documents for leads).
USERS = {
    11000001: {"id": 11000001, "name": "Администратор", "email": "admin@intermigro.example"},
    11000002: {"id": 11000002, "name": "Менеджер", "email": "manager@intermigro.example"},
}
ROBOT_USER_ID = 0


def _status(sid, name, sort, stype, color, editable):
    return {"id": sid, "name": name, "sort": sort, "is_editable": editable,
            "color": color, "type": stype}


WON_STATUS_ID = 142   # in every pipeline (Kommo's shared system statuses)
LOST_STATUS_ID = 143

# Status type as Kommo gives it: 1 the Incoming stage, 0 every other stage
# (142 and 143 included; they are told apart by their ids).
PIPELINES = {
    12984871: {
        "id": 12984871,
        "name": "Воронка",
        "sort": 1,
        "is_main": True,
        "statuses": [
            _status(72000001, "НЕРАЗОБРАННОЕ", 10, 1, "#c1c1c1", False),
            _status(72000002, "Первичный контакт", 20, 0, "#99ccff", True),
            _status(72000003, "Консультация назначена", 30, 0, "#ffff99", True),
            _status(72000004, "Договор", 40, 0, "#ffcc66", True),
            _status(WON_STATUS_ID, "Успешно реализовано", 10000, 0, "#CCFF66", False),
            _status(LOST_STATUS_ID, "Закрыто и не реализовано", 11000, 0, "#D5D8DB", False),
        ],
    },
    12984999: {
        "id": 12984999,
        "name": "Партнёры",
        "sort": 2,
        "is_main": False,
        "statuses": [
            _status(72000011, "Неразобранное", 10, 1, "#c1c1c1", False),
            _status(72000012, "Новая заявка", 20, 0, "#98cbff", True),
            _status(72000013, "Передано партнёру", 30, 0, "#fffeb2", True),
            _status(WON_STATUS_ID, "Успешно реализовано", 10000, 0, "#CCFF66", False),
            _status(LOST_STATUS_ID, "Закрыто и не реализовано", 11000, 0, "#D5D8DB", False),
        ],
    },
}
MAIN_PIPELINE_ID = 12984871


def pipeline_status(pipeline_id, status_id):
    for s in PIPELINES[pipeline_id]["statuses"]:
        if s["id"] == status_id:
            return s
    return None


def incoming_status_id(pipeline_id):
    """The Incoming stage (type 1) of a pipeline: where unsorted/forms leads land."""
    return next(s["id"] for s in PIPELINES[pipeline_id]["statuses"] if s["type"] == 1)


def first_open_status_id(pipeline_id):
    """The first stage after Incoming: the first type 0 status that is not 142/143."""
    return next(s["id"] for s in sorted(PIPELINES[pipeline_id]["statuses"], key=lambda s: s["sort"])
                if s["type"] == 0 and s["id"] not in (WON_STATUS_ID, LOST_STATUS_ID))


def _field(name, ftype, sort, code=None, enums=None):
    return {"name": name, "code": code, "type": ftype, "sort": sort,
            "enums": [{"id": eid, "value": value, "sort": (k + 1) * 10}
                      for k, (eid, value) in enumerate(enums)] if enums else None}


# entity -> field id -> field. Types as Kommo names them (FIELD_TYPES).
CUSTOM_FIELDS = {
    "contact": {
        467698: _field("Position", "text", 4, "POSITION"),
        467700: _field("Phone", "multitext", 6, "PHONE", [
            (300001, "WORK"), (300003, "WORKDD"), (300005, "MOB"),
            (300007, "FAX"), (300009, "HOME"), (300011, "OTHER")]),
        467702: _field("Email", "multitext", 8, "EMAIL", [
            (300013, "WORK"), (300015, "PRIV"), (300017, "OTHER")]),
        1709360: _field("Telegram", "text", 510),
        1709362: _field("Сайт", "url", 512),
        1709364: _field("Дата рождения", "date", 514),
        1709366: _field("Гражданство", "select", 516, None, [
            (902001, "Россия"), (902002, "Беларусь"), (902003, "Казахстан"),
            (902004, "Украина"), (902005, "Другое")]),
        1709368: _field("Согласие на рассылку", "checkbox", 518),
    },
    "lead": {
        488804: _field("Career/Profession", "text", 500),
        1711074: _field("Education", "text", 502),
        1709444: _field("Income", "numeric", 504),
        1709446: _field("Страна", "select", 506, None, [
            (901001, "Германия"), (901002, "Португалия"), (901003, "Сербия"),
            (901004, "Испания"), (901005, "Черногория"), (901006, "Другая")]),
        1709448: _field("Программы", "multiselect", 508, None, [
            (901011, "ВНЖ"), (901012, "ПМЖ"), (901013, "Гражданство"),
            (901014, "Digital nomad"), (901015, "Релокация бизнеса")]),
        1709450: _field("Дата консультации", "date", 510),
        1709452: _field("Согласие на обработку данных", "checkbox", 512),
        1709454: _field("Комментарий", "textarea", 514),
        1709456: _field("Ссылка на анкету", "url", 516),
        467714: _field("utm_source", "tracking_data", 600, "UTM_SOURCE"),
        467710: _field("utm_medium", "tracking_data", 602, "UTM_MEDIUM"),
        467712: _field("utm_campaign", "tracking_data", 604, "UTM_CAMPAIGN"),
        467708: _field("utm_content", "tracking_data", 606, "UTM_CONTENT"),
        467716: _field("utm_term", "tracking_data", 608, "UTM_TERM"),
        467718: _field("utm_referrer", "tracking_data", 610, "UTM_REFERRER"),
    },
}
# Filler text fields "Поле N" (id FILLER_FIRST_ID + N - 1) on leads, so that
# listing lead fields at the default limit of 50 takes more than one page.
FILLER_FIRST_ID = 2000001
FILLER_LEAD_FIELDS = 55
FILLER_SORT = 1000

FIELD_TYPES = ("text", "numeric", "checkbox", "select", "multiselect", "date", "url",
               "textarea", "multitext", "tracking_data")
CHOICE_TYPES = ("select", "multiselect")        # values must name one of the enums
STRING_TYPES = ("text", "textarea", "url", "multitext", "tracking_data")
PLAIN_TYPES = ("text", "textarea", "url", "tracking_data", "numeric", "checkbox")  # stored as sent
EXTRA_FIELD_TYPES = tuple(t for t in FIELD_TYPES if t not in CHOICE_TYPES)  # --extra-field
ENTITY_PLURAL = {"lead": "leads", "contact": "contacts"}

FIRST_LEAD_ID = 8876820
FIRST_CONTACT_ID = 7654321
FIRST_TAG_ID = 2164  # as in lead_one.json
MAX_ITEMS = 250
MAX_LIMIT = 250              # list endpoints: most entities a page
DEFAULT_LIMIT = 50
MAX_STRING = 256             # sandbox assumption, see docs/sandbox.md
MAX_UNIX_SECONDS = 4102444800  # 2100-01-01; larger looks like milliseconds
MAX_BODY = 32 * 1024 * 1024
MAX_SEED = 100000            # control API: most fields or entities added at once
FORMS_PATH = "/api/v4/leads/unsorted/forms"
UNSORTED_PATH = "/api/v4/leads/unsorted"


UNSORTED_CATEGORIES = ("sip", "mail", "forms", "chats")
UNSORTED_ORDERS = ("created_at", "updated_at", "id")
