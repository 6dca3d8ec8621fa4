"""Problem titles in English, simplified Chinese (zh-CN) and traditional Chinese for Hong Kong
and Macau (zh-HK), keyed by the problem's stable slug.

One catalogue for the whole platform, so a client sees one wording for one kind of problem
whichever service answers. A suite test (tests/kit/test_problem_titles.py) fails when any
service raises a slug that is not here.
"""

from __future__ import annotations

#: slug → (en, zh-CN, zh-HK)
PROBLEM_TITLES: dict[str, tuple[str, str, str]] = {
    # Protocol: one per HTTP status the kit answers on its own.
    "bad-request": ("Bad request", "请求有误", "請求有誤"),
    "unauthorized": ("Authentication required", "需要登录", "需要登入"),
    "forbidden": ("Not allowed", "无权操作", "無權操作"),
    "not-found": ("Not found", "未找到", "找不到"),
    "method-not-allowed": ("Method not allowed", "不支持该方法", "不支援該方法"),
    "not-acceptable": ("Not acceptable", "无法提供所需格式", "無法提供所需格式"),
    "request-timeout": ("Request timeout", "请求超时", "請求逾時"),
    "conflict": ("Conflict", "冲突", "衝突"),
    "precondition-failed": ("Precondition failed", "版本已变更", "版本已變更"),
    "precondition-required": ("If-Match required", "需要 If-Match", "需要 If-Match"),
    "payload-too-large": ("Payload too large", "内容过大", "內容過大"),
    "unsupported-media-type": ("Unsupported media type", "不支持的内容类型", "不支援的內容類型"),
    "validation-error": ("Invalid input", "输入无效", "輸入無效"),
    "too-many-requests": ("Too many requests", "请求过于频繁", "請求過於頻繁"),
    "internal-error": ("Internal error", "服务器内部错误", "伺服器內部錯誤"),
    "bad-gateway": ("Bad gateway", "上游服务应答无效", "上游服務回應無效"),
    "service-unavailable": ("Service unavailable", "服务暂不可用", "服務暫不可用"),
    "gateway-timeout": ("Gateway timeout", "上游服务超时", "上游服務逾時"),
    # Kit: pagination, idempotency, operations.
    "invalid-cursor": ("Invalid cursor", "分页游标无效", "分頁游標無效"),
    "idempotent-response-withheld": ("Request already done", "请求已完成", "請求已完成"),
    "idempotency-key-reused": (
        "Idempotency key used for another request",
        "幂等键已用于其他请求",
        "冪等鍵已用於其他請求",
    ),
    "request-in-progress": ("Request in progress", "请求处理中", "請求處理中"),
    "invalid-idempotency-key": ("Invalid idempotency key", "幂等键无效", "冪等鍵無效"),
    "replay-failed": ("Replay failed", "重放失败", "重播失敗"),
    # Registry: accounts and login.
    "account-locked": ("Account temporarily locked", "账号已暂时锁定", "帳號已暫時鎖定"),
    "account-disabled": ("Account disabled", "账号已停用", "帳號已停用"),
    "invalid-credentials": ("Login failed", "登录失败", "登入失敗"),
    "invalid-refresh-token": ("Refresh token refused", "刷新令牌无效", "更新權杖無效"),
    "wrong-password": ("Wrong password", "密码错误", "密碼錯誤"),
    "duplicate-account": ("Account already exists", "账号已存在", "帳號已存在"),
    "own-account": ("Not on your own account", "不能对自己的账号操作", "不能對自己的帳號操作"),
    "partner-not-active": ("Partner not active", "合作平台未启用", "合作平台未啟用"),
    # Registry: parties, consent, exchange.
    "unknown-worker": ("Unknown worker", "未知的家政服务员", "未知的家務助理"),
    "duplicate-worker": ("Worker already registered", "家政服务员已登记", "家務助理已登記"),
    "duplicate-employer": ("Employer already registered", "雇主已登记", "僱主已登記"),
    "already-employed": ("Already employed", "已受雇于该公司", "已受僱於該公司"),
    "not-employed": ("Not employed here", "未受雇于该公司", "未受僱於該公司"),
    "worker-left": ("Worker has left", "家政服务员已离开", "家務助理已離開"),
    "consent-not-active": ("Consent not active", "授权未生效", "授權未生效"),
    "duplicate-consent": ("Consent already given", "授权已存在", "授權已存在"),
    "empty-upload": ("Empty upload", "上传内容为空", "上載內容為空"),
    # Registry: agencies and signed exchange.
    "agency-not-active": ("Agency not active", "机构未启用", "機構未啟用"),
    "duplicate-key": ("Key already registered", "密钥已登记", "密鑰已登記"),
    "invalid-signature": ("Invalid signature", "签名无效", "簽名無效"),
    # Training.
    "not-open": ("Not open", "未开放", "未開放"),
    "already-enrolled": ("Already enrolled", "已报名", "已報名"),
    "prerequisite-missing": ("Prerequisite missing", "缺少先修课程", "缺少先修課程"),
    "missing-worker": ("Worker required", "请指定家政服务员", "請指定家務助理"),
    "missing-company": ("Company required", "请指定公司", "請指定公司"),
    "no-venue": ("Venue required", "请填写上课地点", "請填寫上課地點"),
    "not-enrolled": ("Not enrolled", "未报名", "未報名"),
    "already-completed": ("Already completed", "已结业", "已結業"),
    "no-exam": ("No such exam", "该课程无此考试", "該課程無此考試"),
    "resit-limit": ("No resits left", "补考次数已用完", "補考次數已用完"),
    "exam-already-passed": ("Exam already passed", "考试已通过", "考試已通過"),
    "no-result": ("No exam result", "尚无考试成绩", "尚無考試成績"),
    "no-subsidy-policy": ("No subsidy policy", "尚无补贴政策", "尚無補貼政策"),
    "not-passed": ("Training not passed", "培训未合格", "培訓未合格"),
    "not-subsidised": ("Not subsidised", "不在补贴范围内", "不在補貼範圍內"),
    "not-eligible": ("Not eligible", "不符合条件", "不符合條件"),
    "already-claimed": ("Already claimed", "补贴已申领", "補貼已申領"),
    "already-paid": ("Already paid", "补贴已发放", "補貼已發放"),
    "claim-not-pending": ("Claim not pending", "申领不在待审状态", "申領不在待審狀態"),
    "claim-not-approved": ("Claim not approved", "申领未获批准", "申領未獲批准"),
    "reason-required": ("Reason required", "请填写理由", "請填寫理由"),
    "no-award-policy": ("No award policy", "尚无竞赛奖励政策", "尚無競賽獎勵政策"),
    "already-registered": ("Already registered", "已报名参赛", "已報名參賽"),
    "competition-finished": ("Competition finished", "竞赛已结束", "競賽已結束"),
    "no-entries": ("No entries", "无人报名", "無人報名"),
    "no-base-policy": ("No training-base policy", "尚无培训基地政策", "尚無培訓基地政策"),
    "policy-version-taken": ("Policy version taken", "政策版本号已被使用", "政策版本號已被使用"),
    "no-apprenticeship-policy": ("No apprenticeship policy", "尚无学徒制政策", "尚無學徒制政策"),
    "not-apprenticeship": ("Not an apprenticeship", "该课程不是学徒制课程", "該課程不是學徒制課程"),
    "mentor-not-qualified": ("Mentor not qualified", "导师资格不符", "導師資格不符"),
    "course-full": ("Course full", "名额已满", "名額已滿"),
    "no-venture-policy": ("No entrepreneurship policy", "尚无创业扶持政策", "尚無創業扶持政策"),
    "already-entered": ("Already entered", "已参加", "已參加"),
    "stage-too-early": ("Stage too early", "尚未到达该阶段", "尚未到達該階段"),
    "financing-transition": ("Financing step not allowed", "融资状态不可变更", "融資狀態不可變更"),
    "no-base": ("Training base required", "请指定培训基地", "請指定培訓基地"),
    "unknown-base": ("Unknown training base", "未知的培训基地", "未知的培訓基地"),
    "referral-answered": ("Referral already answered", "项目推介已有答复", "項目推介已有答覆"),
    # Credit: files, cards, insurance.
    "no-credit-policy": ("No credit policy", "尚无信用政策", "尚無信用政策"),
    "no-card-policy": ("No card policy", "尚无服务证政策", "尚無服務證政策"),
    "card-exists": ("Card already issued", "服务证已签发", "服務證已簽發"),
    "card-not-active": ("Card not active", "服务证未生效", "服務證未生效"),
    "card-not-suspended": ("Card not suspended", "服务证未暂停", "服務證未暫停"),
    "card-revoked": ("Card revoked", "服务证已撤销", "服務證已撤銷"),
    "already-renewed": ("Already renewed", "已续保", "已續保"),
    "claim-status": ("Claim cannot change so", "理赔状态不可如此变更", "理賠狀態不可如此變更"),
    "outside-cover": ("Incident outside cover", "事故不在保障范围内", "事故不在保障範圍內"),
    # Rating.
    "already-rated": ("Already rated", "已评价过", "已評價過"),
    "no-finished-engagement": ("No finished engagement", "没有已完成的雇用", "沒有已完成的僱用"),
    "review-window-closed": ("Review window closed", "评价期已过", "評價期已過"),
    "assessment-year-not-open": ("Assessment year not open", "评定年度未开放", "評定年度未開放"),
    "year-exists": ("Assessment year already opened", "评定年度已开放过", "評定年度已開放過"),
    "year-closed": ("Assessment year already closed", "评定年度已结束", "評定年度已結束"),
    "nothing-published": ("No published level", "尚无公布的星级", "尚無公佈的星級"),
    "appeal-pending": ("Appeal already pending", "申诉正在处理中", "申訴正在處理中"),
    "appeal-decided": ("Appeal already decided", "申诉已有决定", "申訴已有決定"),
    "appeal-window-closed": ("Appeal window closed", "申诉期已过", "申訴期已過"),
    "already-moderated": ("Already moderated", "已审核处理", "已審核處理"),
    "not-a-review": ("Not an employer review", "不是雇主评价", "不是僱主評價"),
    "already-replied": ("Already replied", "已回复过", "已回覆過"),
    "already-decided": ("Already decided", "已有决定", "已有決定"),
    # Matching and recruitment.
    "policy-missing": ("Matching policy missing", "尚无匹配政策", "尚無配對政策"),
    "job-not-open": ("Job not open", "岗位未开放", "職位未開放"),
    "job-expired": ("Job expired", "岗位已过期", "職位已過期"),
    "job-not-editable": ("Job not editable", "岗位不可修改", "職位不可修改"),
    "invalid-transition": ("Step not allowed", "状态不可如此变更", "狀態不可如此變更"),
    "duplicate-application": ("Already applied", "已申请该岗位", "已申請該職位"),
    "worker-not-eligible": ("Worker not eligible", "家政服务员不符合条件", "家務助理不符合條件"),
    "concurrent-change": ("Changed meanwhile", "已被他人修改", "已被他人修改"),
    "not-signed-up": ("Not signed up", "未报名参加招聘会", "未報名參加招聘會"),
    "delivery-pending": ("Delivery pending", "推送仍在进行", "推送仍在進行"),
    "no-data-key": ("Data key unavailable", "数据密钥不可用", "數據密鑰不可用"),
}

#: The English titles the kit uses for a bare status; a problem raised with one of these says
#: nothing more specific, so its slug's own English title is used instead.
GENERIC_TITLES = frozenset(
    {"Conflict", "Invalid input", "Not found", "Not allowed", "Bad request", "Unavailable"}
)
