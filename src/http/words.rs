//! The words of the maker pages, in Chinese and English: one table, looked up by key from
//! the templates (`{{ t.w("sign_in") }}`). A key missing from the table shows as nothing
//! (and is logged), and a test reads every template for keys that are not here.

/// (key, Chinese, English).
const WORDS: &[(&str, &str, &str)] = &[
    // Accounts.
    ("sign_in", "登录", "Sign in"),
    ("sign_up", "注册", "Sign up"),
    ("sign_out", "退出登录", "Sign out"),
    ("email", "电子邮箱", "E-mail"),
    ("password", "密码", "Password"),
    ("password_hint", "至少 10 个字符", "at least 10 characters"),
    ("display_name", "昵称", "Display name"),
    ("language", "语言", "Language"),
    ("no_account", "还没有账号？", "No account yet?"),
    ("have_account", "已有账号？", "Already have an account?"),
    ("bad_credentials", "邮箱或密码错误。", "The e-mail address or password is wrong."),
    ("email_taken", "这个邮箱已经注册过了，请直接登录。", "This e-mail address already has an account: sign in."),
    ("too_many", "尝试次数过多，请稍后再试", "Too many attempts; try again in a moment"),
    ("seconds", "秒", "s"),
    ("forgot", "忘记密码？", "Forgot your password?"),
    ("send_reset", "发送重置链接", "Send me a reset link"),
    (
        "reset_sent",
        "如果这个邮箱有账号，我们已发送重置链接，一小时内有效，只能使用一次。",
        "If this address has an account, a reset link is on its way: it works once, for an hour.",
    ),
    ("new_password", "设置新密码", "Set a new password"),
    ("set_password", "保存新密码", "Save the new password"),
    ("reset_expired", "这个链接已过期或已使用，请重新申请。", "This link has expired or was used; ask for a new one."),
    ("reset_done", "密码已更新，请用新密码登录。", "Your password is changed: sign in with the new one."),
    ("sign_in_to_book", "登录后即可预订", "Sign in to book"),
    ("cross_origin", "请从本站页面提交表单。", "Send the form from this site's own page."),
    ("form_expired", "表单已过期，请重新提交。", "The form has expired; send it again."),
    // Punctuation: Chinese takes the full-width colon.
    ("colon", "：", ": "),
    // Navigation.
    ("map", "创客地图", "Maker map"),
    ("my_bookings", "我的预订", "My bookings"),
    // Navigation, profile and teams.
    ("site_nav", "站点导航", "Site navigation"),
    ("profile", "我的资料", "My profile"),
    ("profile_saved", "资料已保存。", "Your profile is saved."),
    ("save", "保存", "Save"),
    ("verified_maker", "认证创客", "Verified maker"),
    ("change_password", "修改密码（通过邮件链接）", "Change my password (by a link in the mail)"),
    ("my_teams", "我的团队", "My teams"),
    (
        "no_teams",
        "还没有加入团队。可以在下面创建一个，然后为团队预订。",
        "No team yet. Start one below, then book for it.",
    ),
    ("team_owner", "负责人", "Owner"),
    ("team_member", "成员", "Member"),
    ("team_name", "团队名称", "Team name"),
    ("name_field", "名称", "Name"),
    ("team_kind", "类型", "Kind"),
    ("kind_team", "创客团队", "Maker team"),
    ("kind_startup", "初创企业", "Start-up"),
    (
        "team_hint",
        "你将成为负责人；预订时可选择为团队预订。",
        "You become its owner; when booking you can book for it.",
    ),
    ("create_team", "创建团队", "Start the team"),
    // More of the resource page.
    ("archived", "这个资源已停用，不能再预订。", "This resource is retired and cannot be booked."),
    ("arrival_day", "入住日期", "Arrival day"),
    ("nights", "入住晚数", "Nights"),
    ("whole_day", "全天", "Whole day"),
    ("beyond_horizon_day", "超出可预订范围", "Too far ahead to book"),
    ("horizon_end", "已到可预订的最远一周", "Furthest week you can book"),
    // Weekly series and teams when booking.
    ("repeat_weekly", "每周重复", "Repeat every week"),
    ("once", "仅此一次", "Just once"),
    ("weeks", "周", "weeks"),
    ("weekly", "每周预订", "Weekly"),
    ("if_a_week_clashes", "如果某一周已被占用：", "If a week is taken:"),
    ("skip_clashes", "跳过那一周", "skip that week"),
    ("refuse_clashes", "整组都不预订", "book none of them"),
    ("book_for", "为谁预订", "Book for"),
    ("myself", "我自己", "Myself"),
    ("series_title", "每周预订", "Weekly booking"),
    ("series_booked", "次已预订", "booked"),
    (
        "series_clash",
        "有一周的这个时间已被占用，整组都没有预订。可以选择“跳过那一周”再预订其余几周。",
        "One of the weeks is taken at this time, so none was booked. Choose \"skip that week\" to book the others.",
    ),
    (
        "series_skipped",
        "以下日期已被占用或不符合规则，已跳过：",
        "These dates were taken or broke a rule, and were skipped:",
    ),
    ("whole_series", "查看整组每周预订", "See the whole weekly series"),
    // Moving and cancelling.
    ("move_booking", "改时间", "Move it"),
    ("move_title", "改到新的时间", "Move to a new time"),
    ("move_here", "改到这个时间", "Move it here"),
    ("moving_from", "原预订时间", "Now booked for"),
    ("moving_pick", "请选择新的开始时间。", "Pick the new start."),
    ("moved_ok", "时间已更改。", "The booking is moved."),
    ("not_moved", "无法改到这个时间", "It cannot move there"),
    (
        "cancel_sure",
        "确定要取消吗？取消后时段会让给候补的人。",
        "Cancel it? The time goes to whoever is waiting for it.",
    ),
    ("cancel_confirm", "确认取消", "Yes, cancel it"),
    ("cancel_this", "只取消这一次", "Only this one"),
    ("cancel_following", "这一次及以后", "This and the following ones"),
    ("cancel_series", "整组全部取消", "The whole series"),
    ("keep_it", "不取消，返回", "Keep it"),
    ("cancelled_many", "个预订已取消。", "bookings are cancelled."),
    // A booking's heading.
    ("requested", "已提交申请", "Requested"),
    ("booking", "预订详情", "Booking"),
    // Notifications.
    ("notifications", "通知", "Notifications"),
    ("notice.booking_cancelled", "运营方取消了预订", "An operator cancelled"),
    ("notice.booking_moved", "运营方更改了预订时间", "An operator moved"),
    ("notice.booking_approved", "预订已获批准", "Approved"),
    ("notice.booking_declined", "预订未获批准", "Declined"),
    ("notice.waitlist_booked", "候补成功，已为你预订", "From the waitlist, booked for you"),
    // The kiosks of a space (operators).
    ("kiosks", "签到机", "Kiosks"),
    ("my_spaces", "我运营的空间", "Spaces I run"),
    ("kiosk_name", "签到机位置（例如：正门）", "Where it stands (for example: Front door)"),
    ("add_kiosk", "添加签到机并生成配对码", "Add a kiosk and make its pairing code"),
    ("new_pairing_code", "重新配对", "Pair again"),
    ("pairing_code_is", "在签到机的配对页面输入这个配对码：", "Type this pairing code on the kiosk's pairing screen:"),
    ("pairing_until", "有效至", "Works until"),
    ("pairing_once", "只能使用一次，离开本页后不再显示", "once only; it is not shown again"),
    ("pairing_where", "在签到机上打开", "On the kiosk, open"),
    ("kiosk_revoked", "已停用", "Revoked"),
    ("kiosk_paired", "已配对", "Paired"),
    ("kiosk_waiting", "等待配对", "Waiting to be paired"),
    ("kiosk_last_scan", "最近扫码", "Last scan"),
    // The resource page.
    ("book_this", "预订", "Book"),
    ("week_of", "一周空闲时段", "Free times this week"),
    ("prev_week", "← 上一周", "← Previous week"),
    ("next_week", "下一周 →", "Next week →"),
    ("closed_day", "休息", "Closed"),
    ("fully_booked", "已约满", "Fully booked"),
    ("all_past", "今天的时段已过", "No times left today"),
    ("tap_a_time", "点一个开始时间即可预订（当地时间）。", "Tap a start time to book (local time)."),
    ("units_free", "台空闲", "free"),
    ("rules", "预订规则", "Booking rules"),
    ("slot_length", "时段单位", "Slots of"),
    ("length_range", "每次时长", "Length"),
    ("minutes", "分钟", "min"),
    ("hours", "小时", "h"),
    ("notice", "至少提前", "Book at least"),
    ("notice_after", "预订", "ahead"),
    ("horizon", "最多提前", "Book up to"),
    ("days_ahead", "天预订", "days ahead"),
    ("approval_needed", "需运营方审批，审批通过后生效", "An operator approves each booking"),
    ("no_approval", "无需审批，立即确认", "Confirmed at once, no approval"),
    ("training_needed", "需完成培训", "Training needed"),
    ("who_may", "谁可以预订", "Who may book"),
    ("anyone_signed_in", "所有注册创客", "Every signed-in maker"),
    ("verified_only", "仅限认证创客", "Verified makers only"),
    ("price", "价格", "Price"),
    ("free_of_charge", "免费", "Free"),
    ("per_hour", "小时", "hour"),
    ("per_night", "晚", "night"),
    ("walk_ups", "空闲时可直接到场扫码使用", "Walk in and scan while a unit is free"),
    ("maintenance", "维护", "Maintenance"),
    // Booking.
    ("confirm_title", "确认预订", "Confirm the booking"),
    ("start_at", "开始", "Starts"),
    ("choose_length", "选择时长", "Choose the length"),
    ("purpose", "用途（可选）", "Purpose (optional)"),
    ("confirm", "确认预订", "Book it"),
    ("refused", "无法预订", "This cannot be booked"),
    ("taken", "这个时间已被占用。可以改约：", "That time is taken. Free instead:"),
    ("no_alternatives", "附近没有空闲时段，请换一天。", "Nothing free nearby; try another day."),
    (
        "no_length_fits",
        "这个时间已没有可预订的时长，请换一个时间。",
        "No length fits from this time any more; pick another.",
    ),
    ("back_to_resource", "← 返回", "← Back"),
    // A booking.
    ("booked", "已预订", "Booked"),
    (
        "pending_note",
        "等待运营方审批。审批通过后签到码才能使用。",
        "Waiting for an operator's approval; the code works once it is approved.",
    ),
    (
        "show_at_kiosk",
        "到场后在门口的签到机前出示二维码，或输入签到码：",
        "At the door, show the QR code to the kiosk, or type the code:",
    ),
    ("add_to_calendar", "添加到日历", "Add to my calendar"),
    ("cancel_booking", "取消预订", "Cancel the booking"),
    ("cancelled_ok", "预订已取消。", "The booking is cancelled."),
    ("status", "状态", "Status"),
    ("where", "地点", "Where"),
    ("when", "时间", "When"),
    ("unit", "设备", "Unit"),
    // Mine.
    ("upcoming", "即将开始", "Upcoming"),
    ("past", "过去的预订", "Past"),
    ("nothing_upcoming", "还没有预订。去创客地图找一台设备吧。", "No bookings yet. Find a tool on the maker map."),
    (
        "personal_code",
        "我的个人码（现场直接使用空闲设备时扫描）",
        "My personal code (scan it to walk up to a free unit)",
    ),
    ("open_booking", "查看", "Open"),
    ("join_waitlist", "加入候补名单", "Join the waitlist"),
    (
        "waitlist_hint",
        "有人取消时自动为你预订，并通知你。",
        "If someone cancels, it is booked for you and you are told.",
    ),
    ("waiting", "候补中", "Waiting"),
    ("waiting_ok", "已加入候补名单。", "You are on the waitlist."),
    ("leave_waitlist", "退出候补", "Leave the waitlist"),
    ("calendar_feed", "日历订阅", "Calendar subscription"),
    (
        "calendar_feed_hint",
        "把我的预订同步到手机日历：生成一个只有你知道的订阅地址。",
        "Keep my bookings in my phone's calendar: make a subscription address only you know.",
    ),
    ("calendar_start", "生成订阅地址", "Make a subscription address"),
    ("calendar_subscribe", "在日历中订阅", "Subscribe in my calendar"),
    ("calendar_url", "订阅地址（请勿分享）", "Subscription address (keep it to yourself)"),
    ("calendar_renew", "更换地址", "Renew the address"),
    ("calendar_revoke", "停止订阅", "Stop the subscription"),
    ("busy_feed", "占用时段日历（不含预订人）", "Busy times as a calendar (no names)"),
    ("events", "我报名的活动（入场时出示活动码）", "My events (show the event code at the door)"),
    ("registered", "已报名", "Registered"),
    ("attended", "已签到", "Checked in"),
    // Statuses.
    ("status.confirmed", "已确认", "Confirmed"),
    ("status.pending", "待审批", "Waiting for approval"),
    ("status.checked_in", "已签到", "Checked in"),
    ("status.completed", "已完成", "Completed"),
    ("status.cancelled", "已取消", "Cancelled"),
    ("status.declined", "未获批准", "Declined"),
    ("status.no_show", "未到场", "No-show"),
    // Broken rules (the stable codes of `domain::booking::Violation`).
    ("rule.outside_opening_hours", "不在开放时间内", "Not within the opening hours"),
    ("rule.in_closure", "这段时间暂停开放", "The resource is closed for part of that time"),
    ("rule.too_short", "时长太短", "Too short"),
    ("rule.too_long", "时长太长", "Too long"),
    ("rule.not_on_slot", "开始和结束时间须对齐时段", "Start and end must fall on the slots"),
    ("rule.in_the_past", "这个时间已经过去", "That time has passed"),
    ("rule.too_little_notice", "预订需要更早提前", "Not enough notice"),
    ("rule.beyond_horizon", "超出可预订的天数范围", "Too far ahead"),
    ("rule.quota_hours_exceeded", "超出每周可预订时长", "More hours than the weekly quota"),
    ("rule.quota_active_exceeded", "同时持有的预订已达上限", "Too many bookings held at once"),
    ("rule.training_missing", "需要先完成培训", "The training is missing"),
    ("rule.training_expired", "培训已过期，请重新培训", "The training has expired"),
    ("rule.not_eligible", "仅限认证创客预订", "Only verified makers may book this"),
    ("rule.too_many_nights", "入住晚数超过上限", "More nights than allowed"),
    ("rule.not_stay_times", "入住和退房时间不符", "Not the check-in and check-out times"),
    // Field errors (the stable codes of `domain::FieldError`).
    ("field.required", "必填", "required"),
    ("field.invalid", "无法识别", "could not be read"),
    ("field.unknown_unit", "没有这个设备", "no such unit"),
    ("field.before_start", "须晚于开始时间", "must be after the start"),
    ("field.invalid_format", "格式不正确", "not in the right form"),
    ("field.too_short", "太短", "too short"),
    ("field.too_long", "太长", "too long"),
    ("field.invalid_characters", "含有不允许的字符", "has characters that are not allowed"),
    ("field.out_of_range", "超出范围", "out of range"),
    ("field.unsupported_locale", "不支持的语言", "unsupported language"),
    ("field.invalid_length", "长度不符合要求", "too short or too long"),
    ("field.unknown_team", "没有这个团队", "no such team"),
    ("field.not_a_member", "只能为你所在的团队预订", "you can only book for a team you belong to"),
    // Reports and evidence in the consoles.
    ("ops_reports", "使用报表", "Reports"),
    ("ops_evidence", "补贴证据", "Evidence"),
    ("rep_from", "开始日期", "From"),
    ("rep_to", "结束日期", "To"),
    ("rep_by", "分组", "Group by"),
    ("rep_bucket", "时间粒度", "Bucket"),
    ("rep_bucket.day", "按日", "Day"),
    ("rep_bucket.week", "按周", "Week"),
    ("rep_bucket.month", "按月", "Month"),
    ("rep_bucket.quarter", "按季度", "Quarter"),
    ("rep_bucket.year", "按年", "Year"),
    ("rep_this_month", "本月", "This month"),
    ("rep_last_month", "上月", "Last month"),
    ("rep_this_quarter", "本季度", "This quarter"),
    ("rep_this_year", "今年", "This year"),
    ("rep_last_12_months", "近 12 个月", "Last 12 months"),
    ("rep_last_year", "去年", "Last year"),
    ("rep_csv", "下载 CSV", "Download CSV"),
    ("rep_xlsx", "下载 Excel（每种分组一张表）", "Download XLSX (a sheet per grouping)"),
    ("rep_generated", "生成于", "Generated"),
    ("rep_charts", "图表", "Charts"),
    ("rep_by_group", "按分组", "By group"),
    ("rep_by_bucket", "全空间按时间", "The whole space by bucket"),
    (
        "rep_pseudonyms",
        "创客以化名显示（空间的隐私设置）。",
        "Makers are shown by pseudonym (the space's privacy setting).",
    ),
    ("rep_no_groups", "这段时间没有数据。", "Nothing in this period."),
    ("rep_all_figures", "全空间的全部指标", "Every figure of the whole space"),
    (
        "rep_definitions",
        "每项指标的定义见 README 的术语表；导出文件保留精确值。",
        "Every figure is defined in the README's glossary; the files keep the exact values.",
    ),
    ("ev_scheme", "补贴政策", "Scheme"),
    ("ev_print", "打印版（A4）", "Printable page (A4)"),
    ("ev_zip", "下载证据包 ZIP", "Download the ZIP"),
    ("ev_met", "达标", "Met"),
    ("ev_not_met", "未达标", "Not met"),
    ("ev_attested_only", "仅凭证明材料", "Attested only"),
    ("ev_criterion", "指标", "Criterion"),
    ("ev_value", "实测值", "Value"),
    ("ev_threshold", "要求", "Threshold"),
    ("ev_outcome", "结果", "Outcome"),
    ("ev_source", "来源", "Source"),
    ("ev_source.metered", "系统计量", "metered"),
    ("ev_source.recorded", "登记", "recorded"),
    ("ev_source.attested", "证明材料", "attested"),
    ("ev_rows_behind", "每项指标依据的记录", "The rows behind each criterion"),
    ("ev_rows", "条记录", "rows"),
    ("ev_no_rows", "没有记录。", "No rows."),
    ("ev_table", "表", "Table"),
    ("ev_entry", "账本序号", "Ledger entry"),
    ("ev_hash", "账本哈希（前 16 位）", "Ledger hash (first 16)"),
    ("ev_more_rows", "其余记录见 ZIP 中的 rows.csv：", "The rest are in the ZIP's rows.csv: "),
    ("ev_documents", "证明材料", "Documents"),
    ("ev_no_documents", "没有上传证明材料。", "No documents attached."),
    ("ev_ledger_head", "生成时的账本头", "Ledger head when made"),
    ("ev_scheme_hash", "政策文件 SHA-256", "Scheme file SHA-256"),
    ("field.invalid_date", "须为日期，例如 2026-03-29", "must be a date such as 2026-03-29"),
    ("field.period_too_long", "时间段最长 731 天", "the period is at most 731 days"),
    ("field.invalid_choice", "不是可选项", "not one of the choices"),
    ("field.unknown_scheme", "没有这个补贴政策", "no such scheme"),
    ("rev_console", "区级审核", "District review"),
    ("rev_overview", "全区总览", "District overview"),
    (
        "rev_only",
        "审核页面仅供区级审核人员和管理员使用。",
        "The review pages are for the district's reviewers and admins.",
    ),
    ("rev_record_only", "只有审核人员可以记录账本头。", "Only reviewers record ledger heads."),
    ("rev_space", "空间", "Space"),
    ("rev_sort_hint", "点击列名排序。", "Click a column's name to sort by it."),
    ("rev_recorded_head", "区里记录的账本头", "Head the district recorded"),
    ("rev_no_head", "尚未记录", "none recorded yet"),
    ("rev_holds", "一致", "holds"),
    ("rev_broken", "不一致：账本被改写", "differs: the ledger was rewritten"),
    ("rev_head_now", "当前账本头（条目数 · 哈希）", "The ledger's head now (entries · hash)"),
    ("rev_ledger_head", "账本头", "Ledger head"),
    (
        "rev_head_explained",
        "每条账本记录的哈希都包含前一条，所以账本头确认了它之前的全部记录。记录一份由区里保存的副本；以后只要该序号的哈希不变，之前的记录就没有被修改、插入或删除。",
        "Each ledger entry's hash covers the one before it, so the head vouches for every entry up to it. Record a copy that the district keeps: as long as the entry at that number keeps its hash, nothing before it was changed, inserted or removed.",
    ),
    ("rev_record", "记录当前账本头", "Record this head"),
    ("rev_recorded", "已记录当前账本头。", "The head is recorded."),
    ("rev_recorded_heads", "已记录的账本头", "Recorded heads"),
    ("rev_when", "记录时间", "Recorded"),
    ("rev_by", "记录人", "By"),
    ("rev_entries", "条目数", "Entries"),
    ("rev_check", "核对", "Check"),
    ("ops_makers", "创客与培训", "Makers and trainings"),
    ("mk_find", "查找创客", "Find a maker"),
    ("mk_find_hint", "姓名或邮箱，至少 2 个字", "name or e-mail, 2 characters or more"),
    ("mk_search", "查找", "Search"),
    ("mk_found", "找到的创客", "Makers found"),
    ("mk_none_found", "没有找到。", "Nobody found."),
    ("mk_holds", "已获培训", "Trainings held"),
    ("mk_verify", "认证为创客", "Mark as verified maker"),
    ("mk_unverify", "取消认证", "Take back the verification"),
    ("mk_grant", "授予：", "Grant: "),
    ("mk_grant_training", "授予培训", "Grant the training"),
    ("mk_training", "培训", "Training"),
    ("mk_expires", "有效期至（留空为长期有效）", "Valid until (empty: no expiry)"),
    ("mk_revoke", "撤销", "Revoke"),
    ("mk_trainings", "本空间的培训", "The trainings this space runs"),
    ("mk_no_trainings", "还没有培训。", "No trainings yet."),
    ("mk_district_wide", "全区通用", "district-wide"),
    ("mk_nobody_holds", "还没有人获得。", "Nobody holds it yet."),
    ("mk_valid", "有效期", "Valid"),
    ("mk_until", "至", "until"),
    ("mk_no_expiry", "长期有效", "no expiry"),
    ("mk_verified_makers", "已认证创客", "Verified makers"),
    (
        "mk_verified_explained",
        "认证在全区通用：已认证的创客可以预订创客客栈的优惠房间。",
        "Verification holds across the district: verified makers may book the subsidised inn rooms.",
    ),
    ("mk_done.verified", "已认证。", "Marked as verified."),
    ("mk_done.unverified", "已取消认证。", "The verification is taken back."),
    ("mk_done.granted", "已授予培训。", "The training is granted."),
    (
        "mk_done.revoked",
        "已撤销培训，需要它的新预订会被拒绝。",
        "The training is revoked: new bookings that need it are refused.",
    ),
    ("field.unknown_account", "没有这个账号", "no account has this address"),
    ("field.invalid_time", "须为日期，例如 2027-06-30", "must be a date such as 2027-06-30"),
    ("scan.check_in", "签到", "Check-in"),
    ("scan.check_out", "签退", "Check-out"),
    ("scan.deny", "拒绝", "Denied"),
    ("deny.unknown", "无法识别的码", "unknown code"),
    ("deny.forged", "伪造的码", "forged code"),
    ("deny.cancelled", "预订已取消", "booking cancelled"),
    ("deny.wrong_space", "不是本空间的预订", "another space's booking"),
    ("deny.too_early", "还太早", "too early"),
    ("deny.no_show", "已按未到场释放", "released as a no-show"),
    ("deny.already_checked_out", "已经签退", "already checked out"),
    ("deny.pending_approval", "等待审批", "awaiting approval"),
    ("deny.training_expired", "培训已过期", "training expired"),
    ("deny.no_booking", "没有可签到的预订", "nothing to check in"),
    ("deny.not_allowed", "不允许", "not allowed"),
    ("deny.not_registered", "未报名活动", "not registered for the event"),
    ("deny.event_ended", "活动已结束", "the event has ended"),
    ("kiosk_revoke", "停用", "Revoke"),
    (
        "kiosk_revoke_confirm",
        "停用后这台签到机立即无法扫码，记录保留。",
        "A revoked kiosk stops scanning at once; its scans stay.",
    ),
    ("kiosk_revoked_done", "已停用这台签到机。", "The kiosk is revoked."),
    ("kiosk_scan_log", "扫码记录", "Scan log"),
    ("kiosk_no_scans", "还没有扫码记录。", "No scans yet."),
    ("kiosk_when", "时间", "When"),
    ("kiosk_decision", "结果", "Decision"),
    ("kiosk_reason", "原因", "Reason"),
    ("kiosk_booking", "预订", "Booking"),
    ("kiosk_open_booking", "查看", "Open"),
    (
        "pairing_qr",
        "或用签到平板的相机扫描这个二维码：它会打开签到页并自动配对。",
        "Or scan this QR code with the kiosk tablet's camera: it opens the kiosk page and pairs it.",
    ),
    ("kiosk_last_200", "最近 200 次扫码，最新的在前。", "The latest 200 scans, newest first."),
    // The operator console.
    ("ops_console", "运营后台", "Operator console"),
    ("ops_my_spaces", "我运营的空间", "The spaces I run"),
    ("ops_no_spaces", "还没有运营的空间。", "No space to run yet."),
    ("ops_today", "今日", "Today"),
    ("ops_approvals", "审批与候补", "Approvals and waitlist"),
    ("ops_public_page", "公开页面", "Public page"),
    ("ops_pick_day", "选择日期", "Pick a day"),
    ("ops_show", "查看", "Show"),
    ("ops_as_of", "更新于", "As of"),
    ("ops_refresh", "刷新", "Refresh"),
    ("ops_waiting_approval", "待审批：", "Waiting for approval: "),
    ("ops_board", "各设备当天的预订", "Every unit's bookings of the day"),
    ("ops_now", "现在", "Now"),
    ("ops_no_units", "这个空间还没有设备。", "This space has no units yet."),
    ("ops_in_now", "正在使用", "In now"),
    ("ops_overstays", "超时未签退", "Overstaying"),
    ("ops_overstaying", "超时未签退", "Overstaying"),
    ("ops_overstay", "超时", "overstay"),
    ("ops_no_shows", "未到场", "No-shows"),
    ("ops_walk_ups", "现场直接使用", "Walk-ups"),
    ("ops_walk_up", "现场直接使用", "Walk-up"),
    ("ops_none", "无", "None"),
    ("ops_all_bookings", "当天全部预订", "All bookings of the day"),
    ("ops_no_bookings", "当天没有预订。", "No bookings on this day."),
    ("ops_withdrawn", "已取消或未获批准", "Cancelled or declined"),
    ("ops_time", "时间", "Time"),
    ("ops_date", "日期", "Date"),
    ("ops_minutes", "时长（分钟）", "Length (minutes)"),
    ("ops_maker", "创客", "Maker"),
    ("ops_status", "状态", "Status"),
    ("ops_resource", "资源", "Resource"),
    ("ops_back_to_day", "返回当天", "Back to the day"),
    ("ops_decided", "审批", "Decided"),
    ("ops_cancelled", "取消", "Cancelled"),
    ("ops_sessions", "计量记录（签到与签退）", "Metered sessions (check-ins and check-outs)"),
    ("ops_no_sessions", "还没有签到记录。", "No check-in yet."),
    ("ops_approve", "批准", "Approve"),
    ("ops_decline", "拒绝", "Decline"),
    ("ops_decline_reason", "拒绝原因（必填，会告知创客）", "Why it is declined (required; the maker is told)"),
    ("ops_hand_reason", "手动操作原因（必填，记入台账）", "Why by hand (required; kept in the ledger)"),
    ("ops_check_in", "手动签到", "Check in by hand"),
    ("ops_check_out", "手动签退", "Check out by hand"),
    ("ops_move", "改期或换设备", "Move it"),
    ("ops_move_hint", "按空间所在时区填写；创客会收到通知。", "In the space's time zone; the maker is told."),
    ("ops_cancel", "取消预订", "Cancel the booking"),
    ("ops_cancel_reason", "取消原因（必填，会告知创客）", "Why it is cancelled (required; the maker is told)"),
    ("ops_cancel_which", "取消哪些", "Which to cancel"),
    ("ops_cancel_this", "只取消这一次", "Only this one"),
    ("ops_cancel_following", "这一次及以后", "This and the following"),
    ("ops_cancel_series", "整个系列", "The whole series"),
    ("ops_pending_queue", "待审批的预订", "Bookings waiting for approval"),
    ("ops_nothing_pending", "没有待审批的预订。", "Nothing waits for approval."),
    ("ops_asked", "申请于", "asked"),
    ("ops_waitlist", "候补名单", "Waitlist"),
    ("ops_nobody_waiting", "没有人在候补。", "Nobody is waiting."),
    ("ops_wanted", "想要的时间", "Wanted"),
    ("ops_done.approve", "已批准，创客会收到通知。", "Approved; the maker is told."),
    ("ops_done.decline", "已拒绝，创客会收到通知。", "Declined; the maker is told."),
    ("ops_done.checkin", "已手动签到。", "Checked in by hand."),
    ("ops_done.checkout", "已手动签退。", "Checked out by hand."),
    ("ops_done.cancel", "已取消，创客会收到通知。", "Cancelled; the maker is told."),
    ("ops_done.move", "已改期，创客会收到通知。", "Moved; the maker is told."),
    ("ops_refused.conflict", "这个时间已被占用。", "That time is taken."),
    ("ops_refused.not_pending", "这个预订已不在待审批状态。", "This booking no longer waits for approval."),
    ("ops_refused.not_checkable", "这个预订现在不能签到。", "This booking cannot be checked in now."),
    ("ops_refused.not_checked_in", "这个预订没有签到。", "This booking is not checked in."),
    ("ops_refused.not_cancellable", "这个预订已不能取消。", "This booking can no longer be cancelled."),
    ("ops_refused.not_movable", "这个预订已不能改期。", "This booking can no longer be moved."),
    ("ops_refused.not_a_series", "这个预订不属于系列预订。", "This booking is not part of a series."),
    // How a session was opened or closed.
    ("origin.kiosk", "签到机扫码", "Kiosk scan"),
    ("origin.operator", "运营方手动", "By an operator"),
    ("origin.automatic", "自动签退", "Automatic check-out"),
    ("origin.walk_up", "现场直接使用", "Walk-up"),
    ("ops_reason", "原因", "Reason"),
    ("ops_purpose", "用途", "Purpose"),
    ("ops_unit", "设备", "Unit"),
];

/// The word for `key`, in Chinese or English; empty (and a warning logged) when the table
/// lacks it.
pub fn word(zh: bool, key: &str) -> &'static str {
    match WORDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, z, e)) => {
            if zh {
                z
            } else {
                e
            }
        }
        None => {
            tracing::warn!(key, "a page asked for a word that is not in the table");
            ""
        }
    }
}

/// Whether the table has `key` (for words built from codes: an unknown rule shows its
/// English message instead).
pub fn has(key: &str) -> bool {
    WORDS.iter().any(|(k, _, _)| *k == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_the_table_once() {
        let mut keys: Vec<&str> = WORDS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key is listed twice");
    }

    #[test]
    fn every_word_a_template_asks_for_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut asked = 0;
        let mut missing = Vec::new();
        let pages = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
        let code = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/maker.rs");
        for path in pages.chain([code]) {
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("t.w(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                if !has(key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
                asked += 1;
            }
        }
        assert!(missing.is_empty(), "no words for {missing:?}");
        assert!(asked > 20, "the templates ask for {asked} words");
    }

    #[test]
    fn every_notification_a_maker_gets_has_words() {
        let sources = [
            include_str!("../service/booking.rs"),
            include_str!("../service/waitlist.rs"),
            include_str!("../service/notify.rs"),
        ];
        for kind in ["booking_cancelled", "booking_moved", "booking_approved", "booking_declined", "waitlist_booked"] {
            assert!(sources.iter().any(|s| s.contains(&format!("\"{kind}\""))), "{kind} is no longer sent");
            assert!(has(&format!("notice.{kind}")), "no words for the notification {kind}");
        }
    }

    #[test]
    fn every_rule_a_booking_can_break_has_words() {
        // The rules are the `v("code", …)` calls of the booking judgement.
        let judge = include_str!("../domain/booking.rs");
        let mut rules = 0;
        for piece in judge.split("v(\"").skip(1) {
            let rule = piece.split('"').next().unwrap();
            assert!(has(&format!("rule.{rule}")), "no words for the rule {rule}");
            rules += 1;
        }
        assert!(rules >= 13, "{rules} rules found");
        assert_eq!(word(true, "sign_in"), "登录");
        assert_eq!(word(false, "sign_in"), "Sign in");
    }
}
