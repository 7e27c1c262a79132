// i18n.js - the page's words, Japanese first, English on the switch.
const ja = {
  skip: '本文へ移動', brand: '資格確認書 ワークリスト', loading: '読み込み中…',
  nav_worklist: 'ワークリスト', nav_check: '保存せずに判定', nav_import: '取り込み', nav_print: '印刷',
  signout: 'サインアウト', signin: 'サインイン', signin_title: 'サインイン',
  signin_help: '管理者から受け取った API キーを入力してください。キーはこのブラウザーに保存されません。',
  key: 'API キー', signin_failed: 'キーが正しくないか、無効になっています。',
  role_reader: '閲覧', role_writer: '記録', role_admin: '管理',
  facility: '施設', choose_facility: '施設を選んでください', all_facilities: 'すべての施設', open: '開く',
  counts: (a, u, s) => `申請が必要 ${a} 名 · 判定不能 ${u} 名 · 情報が古い ${s} 名`,
  needs_action: '対応が必要な方のみ', entitlement: '交付区分', any: 'すべて', due_before: '期限がこの日まで',
  sort_deadline: '期限順に並べる', apply: '絞り込む', more: 'さらに表示',
  name: '氏名', id: 'ID', app_required: '申請', apply_by: '申請期限', stale: '情報', advice: '対応',
  nc_none: '当面、判定が変わる予定はありません。', nc_date: '変わる日', nc_reason: '理由', nc_same: '（変わりません）',
  nc_lead: (d, e, n) => `${d}（${n < 0 ? -n + ' 日前' : 'あと ' + n + ' 日'}）から「${e}」になります。`,
  nc_app_becomes: '申請が必要になります', nc_app_ends: '申請は不要になります', nc_app_still: '引き続き申請が必要', nc_app_still_not: '引き続き申請は不要',
  reg_no_card: 'カードなし', reg_card_unavailable: 'カード紛失中・更新中', reg_ecert_expired: '電子証明書またはカードの期限切れ',
  rs_no_usable_mynahoken: '使えるマイナ保険証なし', rs_late_elderly_provisional: '後期高齢者（暫定運用）', rs_late_elderly_age: '後期高齢者（年齢による）',
  rs_late_elderly_applied: '後期高齢者（申請済み）', rs_card_unavailable_on_application: 'カード紛失中・更新中', rs_registration_unknown: '登録状況不明',
  rs_child_on_application: '児童', rs_consideration_on_application: '要配慮者', rs_holds_mynahoken: 'マイナ保険証を利用',
  rs_scheme_inferred_from_age: '年齢から後期高齢者と判断', rs_scheme_unknown: '保険の種類が不明', rs_ecert_in_grace: '電子証明書の猶予期間中',
  next_change: '次の変化', yes: '必要', no: '不要', stale_yes: '古い', stale_no: '',
  days_left: (n) => n < 0 ? `${-n} 日超過` : `あと ${n} 日`, empty: '該当する方はいません。',
  ent_ex_officio: '職権交付', ent_provisional: '暫定運用', ent_on_application: '申請で交付',
  ent_not_entitled: '交付対象外', ent_undetermined: '判定不能',
  person: '対象者', back: '← ワークリストへ', registration: 'マイナ保険証の登録', usable: '受診に使える',
  reg_registered: '登録済み', reg_unregistered: '未登録', reg_cancelled: '登録解除', reg_unknown: '不明',
  certificate: '資格確認書', may_apply: '申請できる', recommended_apply_by: '推奨申請日',
  applicants: '申請できる人', insurer: '保険者', prefecture: '都道府県', counter: '窓口',
  reasons: '理由', source: '根拠', data_as_of: '確認日', stale_warning: '登録状況の確認から時間がたっています。もう一度確認してください。',
  missing_facts: '不足している情報', none: 'なし', unknown: '不明',
  record_check: '確認を記録する', check_form: '確認内容',
  mynumber_card: 'マイナンバーカード', card_held: '持っている', card_none: '持っていない', card_lost: '紛失', card_renewing: '更新中', card_unknown: '不明',
  insurance_registration: '保険証利用登録', ecert_expiry: '電子証明書の有効期限', care_needs: '配慮が必要な事情',
  setting: '住まい', certificate_status: '資格確認書の状況', cert_none: 'なし', cert_applied: '申請済み', cert_issued: '交付済み',
  verified_at: '確認日', src: '確認方法', birth_date: '生年月日', insurer_number: '保険者番号', display_name: '氏名',
  save: '保存', saved: '保存しました。', conflict: 'ほかの方がこの間にこの方の情報を変更しました。最新の内容を読み込んでから、もう一度記録してください。',
  reload: '最新を読み込む', delete: '削除', confirm_delete: (n) => `${n} さんの記録を削除します。よろしいですか。`,
  deleted: '削除しました。', errors_found: '入力に誤りがあります。各項目のメッセージを確認してください。',
  readonly: '閲覧用のキーでサインインしています（編集できません）。', not_found: '見つかりません。',
  check_title: '保存せずに判定', check_help: '入力した内容は保存されません。', evaluate: '判定する',
  import_title: '取り込み', import_help: 'CSV（UTF-8 または Excel の Shift_JIS）か NDJSON のファイルを選んでください。',
  file: 'ファイル', encoding: '文字コード', mode: '取り込み方', mode_all: 'すべて成功したときだけ保存', mode_best: '正しい行だけ保存',
  upload: '取り込む', uploading: '送信中', inserted: '追加', updated: '更新', unchanged: '変更なし', rejected: '取り込めなかった行',
  line: '行', errors: 'エラー', nothing_stored: '誤りのある行があるため、何も保存していません。',
  print_title: '資格確認書の申請が必要な方', print_date: '作成日', print_button: '印刷する', print_help: 'A4 で印刷するか、PDF として保存できます。',
  error: 'エラーが発生しました', retry_later: 'しばらくしてからもう一度お試しください。', session_ended: 'サインインの有効期限が切れました。',
  care_elderly: '高齢', care_dementia: '認知症', care_disability: '障害', care_child: '子ども', care_illness: '病気',
  care_pin_difficulty: '暗証番号が難しい', care_face_auth_difficulty: '顔認証が難しい', care_other: 'その他',
  set_home: '在宅', set_care_facility: '介護施設', set_disability_facility: '障害者施設', set_childrens_facility: '児童施設', set_hospital: '病院', set_other: 'その他',
  src_mynaportal: 'マイナポータル', src_card_reader: 'カードリーダー', src_insurer_notice: '保険者からの通知', src_self_report: '本人の申告', src_other: 'その他',
  app_self: '本人', app_family: '家族', app_legal_representative: '法定代理人', app_caregiver: '介助者', app_delegate: '委任を受けた方', app_facility: '施設',
  app_guardian: '後見人', app_facility_staff_delegated_by_guardian: '後見人から委任された施設職員',
  ch_municipal_counter: '市区町村の窓口', ch_employer: '勤務先', ch_insurer: '保険者',
};
const en = {
  skip: 'Skip to content', brand: 'Eligibility certificates — worklist', loading: 'Loading…',
  nav_worklist: 'Worklist', nav_check: 'Check without storing', nav_import: 'Import', nav_print: 'Print',
  signout: 'Sign out', signin: 'Sign in', signin_title: 'Sign in',
  signin_help: 'Enter the API key your administrator gave you. The key is not kept in this browser.',
  key: 'API key', signin_failed: 'The key is wrong or no longer valid.',
  role_reader: 'reader', role_writer: 'writer', role_admin: 'admin',
  facility: 'Facility', choose_facility: 'Choose a facility', all_facilities: 'All facilities', open: 'Open',
  counts: (a, u, s) => `${a} must apply · ${u} undetermined · ${s} stale`,
  needs_action: 'Needs action only', entitlement: 'Entitlement', any: 'Any', due_before: 'Due on or before',
  sort_deadline: 'Sort by deadline', apply: 'Filter', more: 'More',
  name: 'Name', id: 'ID', app_required: 'Application', apply_by: 'Apply by', stale: 'Data', advice: 'To do',
  nc_none: 'No change to this decision is foreseen.', nc_date: 'Changes on', nc_reason: 'Why', nc_same: '(unchanged)',
  nc_lead: (d, e, n) => `From ${d} (${n < 0 ? -n + ' days ago' : 'in ' + n + ' days'}): “${e}”.`,
  nc_app_becomes: 'an application becomes required', nc_app_ends: 'no application needed any more', nc_app_still: 'still required', nc_app_still_not: 'still not required',
  reg_no_card: 'no card', reg_card_unavailable: 'card lost or being renewed', reg_ecert_expired: 'e-certificate or card expired',
  rs_no_usable_mynahoken: 'no usable My Number insurance card', rs_late_elderly_provisional: 'late-elderly, provisional operation', rs_late_elderly_age: 'late-elderly, by age',
  rs_late_elderly_applied: 'late-elderly, applied', rs_card_unavailable_on_application: 'card lost or being renewed', rs_registration_unknown: 'registration unknown',
  rs_child_on_application: 'child', rs_consideration_on_application: 'needs consideration', rs_holds_mynahoken: 'uses the My Number insurance card',
  rs_scheme_inferred_from_age: 'late-elderly by age', rs_scheme_unknown: 'insurance scheme unknown', rs_ecert_in_grace: 'e-certificate in its grace period',
  next_change: 'Next change', yes: 'required', no: 'not required', stale_yes: 'stale', stale_no: '',
  days_left: (n) => n < 0 ? `${-n} days overdue` : `${n} days left`, empty: 'Nobody matches.',
  ent_ex_officio: 'Ex officio', ent_provisional: 'Provisional', ent_on_application: 'On application',
  ent_not_entitled: 'Not entitled', ent_undetermined: 'Undetermined',
  person: 'Person', back: '← Worklist', registration: 'Card registration', usable: 'Usable at a clinic',
  reg_registered: 'registered', reg_unregistered: 'not registered', reg_cancelled: 'cancelled', reg_unknown: 'unknown',
  certificate: 'Certificate', may_apply: 'May apply', recommended_apply_by: 'Recommended by',
  applicants: 'Who may apply', insurer: 'Insurer', prefecture: 'Prefecture', counter: 'Counter',
  reasons: 'Reasons', source: 'Source', data_as_of: 'Checked on', stale_warning: 'The registration was checked long ago: check it again.',
  missing_facts: 'Missing facts', none: 'none', unknown: 'unknown',
  record_check: 'Record a check', check_form: 'What was checked',
  mynumber_card: 'My Number card', card_held: 'held', card_none: 'none', card_lost: 'lost', card_renewing: 'renewing', card_unknown: 'unknown',
  insurance_registration: 'Insurance registration', ecert_expiry: 'E-certificate expiry', care_needs: 'Care needs',
  setting: 'Lives in', certificate_status: 'Certificate status', cert_none: 'none', cert_applied: 'applied', cert_issued: 'issued',
  verified_at: 'Checked on', src: 'Checked by', birth_date: 'Birth date', insurer_number: 'Insurer number', display_name: 'Name',
  save: 'Save', saved: 'Saved.', conflict: 'Someone else changed this person meanwhile. Reload the latest data, then record your check again.',
  reload: 'Reload', delete: 'Delete', confirm_delete: (n) => `Delete the record of ${n}?`,
  deleted: 'Deleted.', errors_found: 'Some fields are wrong: see the messages beside them.',
  readonly: 'Signed in with a reader key (no changes possible).', not_found: 'Not found.',
  check_title: 'Check without storing', check_help: 'Nothing you enter here is stored.', evaluate: 'Check',
  import_title: 'Import', import_help: 'Choose a CSV (UTF-8 or Excel\'s Shift_JIS) or NDJSON file.',
  file: 'File', encoding: 'Encoding', mode: 'Mode', mode_all: 'Store only if every line is right', mode_best: 'Store the right lines',
  upload: 'Import', uploading: 'Uploading', inserted: 'Inserted', updated: 'Updated', unchanged: 'Unchanged', rejected: 'Rejected lines',
  line: 'Line', errors: 'Errors', nothing_stored: 'A line was wrong, so nothing was stored.',
  print_title: 'Residents who must apply for an eligibility certificate', print_date: 'Date', print_button: 'Print', print_help: 'Print on A4 or save as PDF.',
  error: 'Something went wrong', retry_later: 'Please try again shortly.', session_ended: 'Your sign-in has ended.',
  care_elderly: 'elderly', care_dementia: 'dementia', care_disability: 'disability', care_child: 'child', care_illness: 'illness',
  care_pin_difficulty: 'PIN difficult', care_face_auth_difficulty: 'face check difficult', care_other: 'other',
  set_home: 'home', set_care_facility: 'care facility', set_disability_facility: 'disability facility', set_childrens_facility: 'children\'s facility', set_hospital: 'hospital', set_other: 'other',
  src_mynaportal: 'Mynaportal', src_card_reader: 'card reader', src_insurer_notice: 'insurer notice', src_self_report: 'self report', src_other: 'other',
  app_self: 'self', app_family: 'family', app_legal_representative: 'legal representative', app_caregiver: 'caregiver', app_delegate: 'delegate', app_facility: 'facility',
  app_guardian: 'guardian', app_facility_staff_delegated_by_guardian: 'facility staff delegated by the guardian',
  ch_municipal_counter: 'municipal counter', ch_employer: 'employer', ch_insurer: 'insurer',
};
// Short phrases for the worklist's advice codes.
const adviceJa = {
  apply_now: 'すぐ申請', apply_before_deadline: '期限までに申請', apply_to_continue_after_provisional: '暫定運用後に向け申請',
  check_registration: '登録状況を確認', renew_ecert: '電子証明書を更新', obtain_card_or_apply: 'カード取得か申請',
  face_auth_card: '顔認証カード', visual_confirmation: '目視確認', facility_keeps_registration: '施設での預かり',
  carry_mynahoken_for_emergencies: '救急時に携帯', proxy_medicine_pickup: '薬の代理受取', care_manager_guidance: 'ケアマネに相談',
};
const adviceEn = {
  apply_now: 'apply now', apply_before_deadline: 'apply before the deadline', apply_to_continue_after_provisional: 'apply to continue',
  check_registration: 'check registration', renew_ecert: 'renew e-certificate', obtain_card_or_apply: 'get a card or apply',
  face_auth_card: 'face-auth card', visual_confirmation: 'visual check', facility_keeps_registration: 'facility keeps card',
  carry_mynahoken_for_emergencies: 'carry for emergencies', proxy_medicine_pickup: 'proxy medicine pickup', care_manager_guidance: 'ask care manager',
};

let lang = (() => {
  try { return new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'ja'; } catch { return 'ja'; }
})();

export function getLang() { return lang; }
export function setLang(l) { lang = l === 'en' ? 'en' : 'ja'; document.documentElement.lang = lang; }
export function t(k, ...args) {
  const d = lang === 'en' ? en : ja;
  const v = d[k] !== undefined ? d[k] : ja[k];
  if (typeof v === 'function') return v(...args);
  return v !== undefined ? v : k;
}
// An enum value in words: t(prefix + value), or the value itself.
export function tv(prefix, v) {
  if (v === null || v === undefined) return t('unknown');
  const d = lang === 'en' ? en : ja;
  return d[prefix + v] !== undefined ? d[prefix + v] : String(v);
}
export function advicePhrase(code) {
  const d = lang === 'en' ? adviceEn : adviceJa;
  return d[code] || code;
}
