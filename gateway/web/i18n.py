"""The pages' words in zh-CN (default), zh-HK (traditional characters) and English, and which
language a request gets: ``?lang=`` (then remembered in a cookie), the cookie, Accept-Language.

Every string a page shows is here, one row per key with all three languages, so a missing
translation is a missing tuple element (a unit test checks every row has three non-empty texts).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.kit.i18n import DEFAULT, SUPPORTED, negotiate

LANG_COOKIE = "jiasao_lang"
#: The switch shows each language in itself.
LANGUAGE_NAMES: tuple[tuple[str, str], ...] = (
    ("zh-CN", "简体中文"),
    ("zh-HK", "繁體中文"),
    ("en", "English"),
)

#: key → (zh-CN, zh-HK, en)
CATALOGUE: dict[str, tuple[str, str, str]] = {
    # Frame
    "site_name": ("肇庆家嫂", "肇慶家嫂", "Zhaoqing Jiasao"),
    "site_tagline": (
        "肇庆市家政服务“肇庆家嫂”工程",
        "肇慶市家政服務「肇慶家嫂」工程",
        "Zhaoqing's household-services programme",
    ),
    "skip": ("跳到正文", "跳到正文", "Skip to content"),
    "nav_label": ("主导航", "主導航", "Main navigation"),
    "language": ("语言", "語言", "Language"),
    "nav_home": ("首页", "首頁", "Home"),
    "nav_cases": ("典型案例", "典型案例", "Typical cases"),
    "nav_model_workers": ("人物典范", "人物典範", "Model workers"),
    "nav_skill_masters": ("技术能手", "技術能手", "Skill masters"),
    "nav_redlist": ("诚信红名单", "誠信紅名單", "Red list"),
    "nav_top_companies": ("百户十强", "百戶十強", "Top ten companies"),
    "nav_counties": ("县区品牌", "縣區品牌", "County brands"),
    "nav_nominate": ("推荐典型", "推薦典型", "Nominate"),
    "nav_verify": ("证件核验", "證件核驗", "Check a card"),
    "nav_dashboard": ("数据看板", "數據看板", "Dashboard"),
    "nav_login": ("工作人员登录", "工作人員登入", "Staff sign-in"),
    "nav_logout": ("退出登录", "登出", "Sign out"),
    "footer_api": ("开放接口文档", "開放介面文件", "API documentation"),
    "footer_note": (
        "肇庆市人力资源和社会保障局 · 本站不使用第三方资源",
        "肇慶市人力資源和社會保障局 · 本站不使用第三方資源",
        "Zhaoqing Human Resources and Social Security Bureau · no third-party resources",
    ),
    "empty": ("暂无内容。", "暫無內容。", "Nothing here yet."),
    "unavailable": (
        "部分数据暂时无法获取，请稍后再试。",
        "部分數據暫時無法取得，請稍後再試。",
        "Some data is unavailable at the moment; please try again later.",
    ),
    "back": ("返回", "返回", "Back"),
    "more": ("查看详情", "查看詳情", "Read more"),
    # Home
    "home_title": ("“肇庆家嫂”工程", "「肇慶家嫂」工程", "The Jiasao programme"),
    "home_intro": (
        "培训、认证、评级、就业对接一体化，打造有尊严、受尊重的家政职业。",
        "培訓、認證、評級、就業對接一體化，打造有尊嚴、受尊重的家政職業。",
        "Training, certification, star ratings and job matching in one programme: a dignified,"
        " respected profession.",
    ),
    "tracks_heading": ("四大服务类别", "四大服務類別", "The four tracks"),
    "track_maternal_infant": ("母婴护理", "母嬰護理", "Maternal and infant care"),
    "track_housekeeping": ("家务服务", "家務服務", "Housekeeping"),
    "track_elderly_care": ("养老护理", "養老護理", "Elderly care"),
    "track_medical_nursing": ("医疗护理", "醫療護理", "Medical nursing"),
    "track_maternal_infant_text": (
        "月嫂、育婴员：孕产妇与新生儿照护。",
        "月嫂、育嬰員：孕產婦與新生兒照護。",
        "Postnatal and newborn care.",
    ),
    "track_housekeeping_text": (
        "保洁、烹饪、收纳等家庭服务。",
        "清潔、烹飪、收納等家庭服務。",
        "Cleaning, cooking and home organising.",
    ),
    "track_elderly_care_text": (
        "居家与机构养老照护。",
        "居家與院舍安老照護。",
        "Care for older people at home and in homes.",
    ),
    "track_medical_nursing_text": (
        "病患陪护与康复护理。",
        "病患陪護與康復護理。",
        "Care for patients and rehabilitation.",
    ),
    "courses_heading": ("开设课程", "開設課程", "Courses"),
    "course_hours": ("学时", "學時", "Hours"),
    "course_track": ("类别", "類別", "Track"),
    "course_type": ("培训类型", "培訓類型", "Type"),
    "course_fee": ("学费（元）", "學費（元）", "Fee (yuan)"),
    "course_free": ("免费", "免費", "Free"),
    "home_brand_heading": ("品牌宣传", "品牌宣傳", "The brand"),
    # Cases
    "cases_title": ("典型案例", "典型案例", "Typical cases"),
    "model_workers_title": ("人物典范", "人物典範", "Model workers"),
    "case_photo_alt": ("照片：", "照片：", "Photo: "),
    "case_county": ("县区", "縣區", "County"),
    "case_source": ("推荐来源", "推薦來源", "Chosen by"),
    "case_year": ("年度", "年度", "Year"),
    "case_not_found": ("未找到该案例。", "找不到該案例。", "No such case."),
    # Nomination
    "nominate_title": ("推荐典型案例或人物", "推薦典型案例或人物", "Nominate a case or a worker"),
    "nominate_intro": (
        "公开征集：欢迎推荐身边优秀的家政服务员和感人的服务故事，经审核后发布。",
        "公開徵集：歡迎推薦身邊優秀的家務助理和感人的服務故事，經審核後發佈。",
        "Open call: tell us about an outstanding worker or a moving story; officers review every"
        " nomination before it is published.",
    ),
    "nominate_login": (
        "请先登录后再提交推荐。",
        "請先登入後再提交推薦。",
        "Please sign in to send a nomination.",
    ),
    "nominate_roles": (
        "推荐由家政服务员、雇主和家政企业提交；工作人员请在后台审核推荐。",
        "推薦由家務助理、僱主和家政企業提交；工作人員請在後台審核推薦。",
        "Workers, employers and companies send nominations; officers review them in the API.",
    ),
    "nominate_kind": ("推荐类型", "推薦類型", "Kind"),
    "kind_case": ("典型案例", "典型案例", "Typical case"),
    "kind_model_worker": ("人物典范", "人物典範", "Model worker"),
    "nominate_name": ("姓名或标题", "姓名或標題", "Name or title"),
    "nominate_story": ("推荐理由", "推薦理由", "Why you nominate them"),
    "nominate_county": ("所在县区", "所在縣區", "County"),
    "nominate_submit": ("提交推荐", "提交推薦", "Send nomination"),
    "nominate_thanks": (
        "感谢推荐！我们会尽快审核。",
        "感謝推薦！我們會盡快審核。",
        "Thank you! We will review your nomination soon.",
    ),
    "nominate_failed": (
        "提交未成功：",
        "提交未成功：",
        "The nomination was not accepted: ",
    ),
    "source_open_call": ("公开征集", "公開徵集", "Open call"),
    "source_company_recommendation": ("企业推荐", "企業推薦", "Company recommendation"),
    "source_competition": ("技能竞赛", "技能競賽", "Skills competition"),
    "nominate_worker": (
        "家政服务员编号（推荐人物典范时必填）",
        "家務助理編號（推薦人物典範時必填）",
        "Worker number (required for a model worker)",
    ),
    # Lists
    "skill_masters_title": ("技术能手", "技術能手", "Skill masters"),
    "skill_masters_intro": (
        "在家政职业技能竞赛中获奖的技术能手。",
        "在家政職業技能競賽中獲獎的技術能手。",
        "Winners of the household-services skills competitions.",
    ),
    "col_name": ("姓名", "姓名", "Name"),
    "col_title": ("称号", "稱號", "Title"),
    "col_competition": ("竞赛", "競賽", "Competition"),
    "col_year": ("年度", "年度", "Year"),
    "col_county": ("县区", "縣區", "County"),
    "col_track": ("类别", "類別", "Track"),
    "col_rank": ("名次", "名次", "Rank"),
    "col_company": ("企业", "企業", "Company"),
    "col_kind": ("类别", "類別", "Kind"),
    "col_basis": ("依据", "依據", "Basis"),
    "col_since": ("列入日期", "列入日期", "Listed on"),
    "col_until": ("公示截止", "公示截止", "Published until"),
    "redlist_title": ("诚信红名单", "誠信紅名單", "Red list"),
    "redlist_intro": (
        "公示期内的诚信红名单。个人姓名已脱敏。",
        "公示期內的誠信紅名單。個人姓名已遮蔽。",
        "The red list during its publication period; people's names are masked.",
    ),
    "basis_automatic": ("信用评价自动列入", "信用評價自動列入", "Credit score"),
    "basis_officer": ("主管部门认定", "主管部門認定", "Officer's decision"),
    "party_worker": ("家政服务员", "家務助理", "Worker"),
    "party_company": ("家政企业", "家政企業", "Company"),
    "party_institution": ("培训机构", "培訓機構", "Training institution"),
    "top_companies_title": ("百户十强家政企业", "百戶十強家政企業", "Top ten companies"),
    "top_companies_intro": (
        "“百户十强”品牌活动评选出的优秀家政企业。",
        "「百戶十強」品牌活動評選出的優秀家政企業。",
        "Companies chosen in the \u201chundred households, top ten\u201d brand campaign.",
    ),
    "year_label": ("年度", "年度", "Year"),
    "show": ("显示", "顯示", "Show"),
    "counties_title": ("县区子品牌", "縣區子品牌", "County brands"),
    "counties_intro": (
        "肇庆家嫂品牌矩阵中的各县区子品牌。",
        "肇慶家嫂品牌矩陣中的各縣區子品牌。",
        "The county sub-brands of the city's brand matrix.",
    ),
    # Verification
    "verify_title": ("证件核验", "證件核驗", "Check a card"),
    "verify_intro": (
        "输入居家上门服务证上的核验码，或直接扫描证件二维码。",
        "輸入居家上門服務證上的核驗碼，或直接掃描證件二維碼。",
        "Enter the code printed on a home-service card, or scan its QR code.",
    ),
    "verify_code": ("核验码", "核驗碼", "Card code"),
    "verify_submit": ("核验", "核驗", "Check"),
    "verify_bad_code": (
        "核验码格式不正确。",
        "核驗碼格式不正確。",
        "That is not a card code.",
    ),
    # Login
    "login_title": ("工作人员登录", "工作人員登入", "Staff sign-in"),
    "login_phone": ("手机号码", "手提電話號碼", "Mobile number"),
    "login_password": ("密码", "密碼", "Password"),
    "login_submit": ("登录", "登入", "Sign in"),
    "login_failed": (
        "手机号码或密码不正确。",
        "手提電話號碼或密碼不正確。",
        "Wrong mobile number or password.",
    ),
    "login_locked": (
        "尝试次数过多，账号已暂时锁定，请稍后再试。",
        "嘗試次數過多，帳號已暫時鎖定，請稍後再試。",
        "Too many attempts; the account is locked for a while.",
    ),
    "signed_in_as": ("当前身份", "目前身份", "Signed in as"),
    # Errors
    "error_title": ("出错了", "出錯了", "Something went wrong"),
    "forbidden_title": ("无权访问", "無權存取", "Not allowed"),
    "forbidden_text": (
        "数据看板仅供主管部门工作人员使用。您的账号没有此权限。",
        "數據看板只供主管部門工作人員使用。您的帳號沒有此權限。",
        "The dashboard is for officers of the bureau only; your account may not see it.",
    ),
    "csrf_text": (
        "表单已过期或来源不明，请返回重新提交。",
        "表格已過期或來源不明，請返回重新提交。",
        "The form expired or did not come from this site; please go back and send it again.",
    ),
    "too_many": (
        "请求过于频繁，请稍后再试。",
        "請求過於頻繁，請稍後再試。",
        "Too many requests; please wait a little and try again.",
    ),
    "not_found_title": ("页面不存在", "頁面不存在", "Page not found"),
    "bad_request_title": ("请求有误", "請求有誤", "Bad request"),
    "bad_language": (
        "不支持该语言。",
        "不支援該語言。",
        "That language is not offered.",
    ),
    # Dashboard
    "dashboard_title": (
        "“肇庆家嫂”工程数据看板",
        "「肇慶家嫂」工程數據看板",
        "Programme dashboard",
    ),
    "filter_heading": ("筛选", "篩選", "Filter"),
    "filter_county": ("县区", "縣區", "County"),
    "filter_all_counties": ("全部县区", "全部縣區", "All counties"),
    "filter_from": ("起始月份", "起始月份", "From month"),
    "filter_to": ("截止月份", "截止月份", "To month"),
    "filter_apply": ("应用", "套用", "Apply"),
    "filter_bad": (
        "筛选条件无效：",
        "篩選條件無效：",
        "Invalid filter: ",
    ),
    "figure_table": ("数据表", "數據表", "Data table"),
    "figure_csv": ("下载 CSV", "下載 CSV", "Download CSV"),
    "figure_target": ("目标", "目標", "Target"),
    "figure_no_rows": ("所选范围内暂无数据。", "所選範圍內暫無數據。", "No data for this filter."),
    "figure_not_found": ("未找到该图表。", "找不到該圖表。", "No such figure."),
    "topic_unavailable": (
        "该主题数据暂时无法获取",
        "該主題數據暫時無法取得",
        "This topic is unavailable",
    ),
    "value": ("数值", "數值", "Value"),
    "generated_at": ("数据生成时间", "數據生成時間", "Computed at"),
    "topic_workers": ("家政服务员", "家務助理", "Workers"),
    "topic_training": ("培训", "培訓", "Training"),
    "topic_subsidies": ("补贴", "補貼", "Subsidies"),
    "topic_training-bases": ("示范基地", "示範基地", "Demonstration bases"),
    "topic_credit": ("信用", "信用", "Credit"),
    "topic_cards": ("居家上门服务证", "居家上門服務證", "Home-service cards"),
    "topic_insurance": ("保险", "保險", "Insurance"),
    "topic_stars": ("星级评定", "星級評定", "Star ratings"),
    "topic_jobs": ("岗位", "崗位", "Jobs"),
    "topic_fairs": ("招聘会", "招聘會", "Job fairs"),
    # Dimension names used by the statistics figures
    "dim_county": ("县区", "縣區", "County"),
    "dim_status": ("状态", "狀態", "Status"),
    "dim_month": ("月份", "月份", "Month"),
    "dim_track": ("类别", "類別", "Track"),
    "dim_training_type": ("培训类型", "培訓類型", "Training type"),
    "dim_year": ("年度", "年度", "Year"),
    "dim_stars": ("星级", "星級", "Stars"),
    "dim_level": ("等级", "等級", "Level"),
    "dim_list": ("名单", "名單", "List"),
    "dim_city": ("城市", "城市", "City"),
    "dim_kind": ("类型", "類型", "Kind"),
    "dim_measure": ("指标", "指標", "Measure"),
    "dim_state": ("状态", "狀態", "State"),
    "dim_tier": ("级别", "級別", "Tier"),
    "dim_fair": ("招聘会", "招聘會", "Fair"),
    "dim_colour": ("颜色", "顏色", "Colour"),
    "dim_flow": ("流向", "流向", "Flow"),
    "dim_list_kind": ("名单", "名單", "List"),
    "dim_party_kind": ("主体类型", "主體類型", "Party"),
    "dim_fair_date": ("日期", "日期", "Date"),
    # Codes in the figures' rows
    "value_active_workers": ("在岗人数", "在職人數", "Active workers"),
    "value_card_holders": ("持证人数", "持證人數", "Card holders"),
    "value_opened": ("新增", "新增", "Opened"),
    "value_closed": ("办结", "辦結", "Closed"),
    "value_red": ("红名单", "紅名單", "Red list"),
    "value_black": ("黑名单", "黑名單", "Black list"),
    "value_provincial_demonstration": ("省级示范", "省級示範", "Provincial demonstration"),
    "value_municipal_demonstration": ("市级示范", "市級示範", "Municipal demonstration"),
    "value_pre_job": ("岗前培训", "崗前培訓", "Pre-job"),
    "value_upskilling": ("提升培训", "提升培訓", "Upskilling"),
    "value_revoked": ("已吊销", "已吊銷", "Revoked"),
    "value_expired": ("已过期", "已過期", "Expired"),
    "value_pending": ("待处理", "待處理", "Pending"),
    "value_approved": ("已批准", "已批准", "Approved"),
    "value_rejected": ("已驳回", "已駁回", "Rejected"),
    "value_paid": ("已发放", "已發放", "Paid"),
    "filters_applied": ("适用的筛选", "適用的篩選", "Filters that apply"),
    "filters_none": ("不受筛选影响", "不受篩選影響", "Not affected by the filters"),
    "filter_name_county": ("县区", "縣區", "county"),
    "filter_name_period": ("期间", "期間", "period"),
    # Units of the figures' values
    "unit_count": ("数量", "數量", "count"),
    "unit_percent": ("%", "%", "%"),
    "unit_yuan": ("元", "元", "yuan"),
    "unit_days": ("天", "天", "days"),
    "unit_hours": ("小时", "小時", "hours"),
    # Roles of signed-in people
    "role_officer": ("主管部门工作人员", "主管部門工作人員", "Officer"),
    "role_admin": ("系统管理员", "系統管理員", "Administrator"),
    "role_worker": ("家政服务员", "家務助理", "Worker"),
    "role_employer": ("雇主", "僱主", "Employer"),
    "role_company": ("家政企业", "家政企業", "Company"),
    "role_institution": ("培训机构", "培訓機構", "Training institution"),
    "role_partner": ("合作平台", "合作平台", "Partner platform"),
    # Worker statuses
    "status_registered": ("已登记", "已登記", "Registered"),
    "status_verified": ("已核验", "已核驗", "Verified"),
    "status_active": ("在岗", "在職", "Active"),
    "status_suspended": ("暂停", "暫停", "Suspended"),
    "status_left": ("已离开", "已離開", "Left"),
    # Counties of Zhaoqing
    "county_duanzhou": ("端州区", "端州區", "Duanzhou"),
    "county_dinghu": ("鼎湖区", "鼎湖區", "Dinghu"),
    "county_gaoyao": ("高要区", "高要區", "Gaoyao"),
    "county_sihui": ("四会市", "四會市", "Sihui"),
    "county_guangning": ("广宁县", "廣寧縣", "Guangning"),
    "county_huaiji": ("怀集县", "懷集縣", "Huaiji"),
    "county_fengkai": ("封开县", "封開縣", "Fengkai"),
    "county_deqing": ("德庆县", "德慶縣", "Deqing"),
    "county_other": ("其他", "其他", "Elsewhere"),
}

_INDEX = {lang: position for position, lang in enumerate(SUPPORTED)}


def texts(lang: str) -> dict[str, str]:
    """Every page string in ``lang`` (one of :data:`SUPPORTED`)."""
    position = _INDEX[lang]
    return {key: row[position] for key, row in CATALOGUE.items()}


_TEXTS: dict[str, dict[str, str]] = {lang: texts(lang) for lang in SUPPORTED}


def catalogue(lang: str) -> Mapping[str, str]:
    return _TEXTS[lang]


class BadLanguage(ValueError):
    """``?lang=`` names a language the pages are not offered in."""


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` first (an unknown one is an error, never silently replaced), then the
    remembered choice, then the browser's Accept-Language, then zh-CN."""
    if query is not None:
        if query not in SUPPORTED:
            raise BadLanguage(query)
        return query
    if cookie in SUPPORTED:
        return str(cookie)
    return negotiate(accept_language) if accept_language else DEFAULT


def localised(value: object, lang: str) -> str:
    """A multilingual field ``{"zh-CN": …, "zh-HK": …, "en": …}`` in ``lang`` (falling back to
    zh-CN, the programme's own language), or a plain value as text."""
    if isinstance(value, Mapping):
        for key in (lang, DEFAULT, *SUPPORTED):
            text = value.get(key)
            if text:
                return str(text)
        return ""
    return "" if value is None else str(value)


def label(code: object, lang: str) -> str:
    """A code the statistics or lists use (county, track, party kind) in words, if known."""
    text = str(code)
    table = _TEXTS[lang]
    for prefix in (
        "county_",
        "track_",
        "party_",
        "kind_",
        "basis_",
        "source_",
        "status_",
        "value_",
    ):
        if (found := table.get(prefix + text)) is not None:
            return found
    return text
