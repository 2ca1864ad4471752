"""Documents written by the mmedc project for the cleaning tests and benchmark (no third-party text):
clean medical prose in the eight pack languages, boilerplate-heavy web pages, text with personal
data mixed with medical numbers, and a small benchmark in the MMedBench layout."""

PROSE = {
    "en": "Iron deficiency anaemia is the most common form of anaemia worldwide. It develops when the body "
          "loses more iron than it absorbs, for example through heavy menstrual bleeding, a bleeding ulcer or a "
          "diet that is low in meat and legumes. Patients often report fatigue, shortness of breath on exertion, "
          "brittle nails and a craving for ice. The diagnosis is confirmed with a full blood count and a low serum "
          "ferritin. Treatment starts with oral iron, usually 65 mg of elemental iron once a day or every other "
          "day, and the haemoglobin should rise by about 10 g/L within three weeks. When tablets are not "
          "tolerated or absorption is poor, intravenous iron is an effective alternative. The cause of the iron "
          "loss must always be found, and adults over fifty need an endoscopy to rule out colorectal cancer.",
    "zh": "缺铁性贫血是最常见的贫血类型，多见于育龄女性、儿童和慢性失血的患者。铁的丢失超过摄入时，"
          "体内储存的铁逐渐耗尽，血红蛋白的合成随之减少。患者常感到乏力、头晕、心悸，活动后气短，"
          "部分人会出现指甲变脆和异食癖。诊断依靠血常规和血清铁蛋白检测，铁蛋白降低是缺铁最可靠的指标。"
          "治疗以口服铁剂为主，一般每天或隔天服用一次，三周后复查血红蛋白。如果口服铁剂不能耐受或吸收不良，"
          "医生可以改用静脉补铁。更重要的是查明失血的原因，五十岁以上的患者应当做胃肠镜检查，以排除消化道肿瘤。",
    "ja": "鉄欠乏性貧血は最も頻度の高い貧血であり、月経量の多い女性や成長期の子ども、慢性的な出血がある患者に"
          "多くみられる。体内の鉄が不足するとヘモグロビンを十分に作ることができず、だるさ、めまい、動悸、"
          "息切れなどの症状が現れる。診断には血液検査でヘモグロビンと血清フェリチンを測定し、フェリチンの低下"
          "が鉄欠乏の確かな指標となる。治療は経口の鉄剤が基本で、吐き気などの副作用がある場合は服用の間隔を"
          "あけることもある。内服で改善しない場合は静脈から鉄を投与する。出血の原因を調べることも重要であり、"
          "中高年の患者には内視鏡検査で消化管のがんがないかを確認する。",
    "fr": "L'anémie par carence en fer est la forme d'anémie la plus fréquente dans le monde. Elle apparaît "
          "lorsque l'organisme perd plus de fer qu'il n'en absorbe, par exemple en cas de règles abondantes, "
          "d'ulcère qui saigne ou d'alimentation pauvre en viande. Les patients se plaignent de fatigue, "
          "d'essoufflement à l'effort et de palpitations. Le diagnostic repose sur la numération formule sanguine "
          "et le dosage de la ferritine, qui est basse. Le traitement commence par du fer par voie orale, une fois "
          "par jour ou un jour sur deux, et l'hémoglobine doit remonter en trois semaines. En cas d'intolérance, "
          "le médecin peut prescrire du fer par voie intraveineuse. Il faut toujours rechercher la cause du "
          "saignement, et une endoscopie est recommandée après cinquante ans pour éliminer un cancer colorectal.",
    "ru": "Железодефицитная анемия — самая распространённая форма анемии в мире. Она развивается, когда "
          "организм теряет больше железа, чем получает с пищей, например при обильных менструациях, "
          "кровоточащей язве или при питании без мяса. Пациенты жалуются на слабость, одышку при нагрузке, "
          "сердцебиение и ломкость ногтей. Диагноз подтверждают общим анализом крови и определением "
          "ферритина, уровень которого снижен. Лечение начинают с препаратов железа внутрь один раз в день или "
          "через день, и уровень гемоглобина должен вырасти в течение трёх недель. При плохой переносимости "
          "таблеток врач назначает железо внутривенно. Причину кровопотери необходимо найти всегда, а пациентам "
          "старше пятидесяти лет проводят эндоскопию, чтобы исключить рак кишечника.",
    "es": "La anemia ferropénica es la forma de anemia más frecuente en el mundo. Aparece cuando el organismo "
          "pierde más hierro del que absorbe, por ejemplo por menstruaciones abundantes, una úlcera que sangra o "
          "una dieta pobre en carne y legumbres. Los pacientes refieren cansancio, falta de aire con el esfuerzo, "
          "palpitaciones y uñas frágiles. El diagnóstico se confirma con un hemograma y una ferritina baja. El "
          "tratamiento comienza con hierro por vía oral, una vez al día o en días alternos, y la hemoglobina debe "
          "subir en unas tres semanas. Si las pastillas no se toleran, el médico puede indicar hierro por vía "
          "intravenosa. Siempre hay que buscar la causa de la pérdida de sangre, y a partir de los cincuenta años "
          "se recomienda una endoscopia para descartar un cáncer colorrectal.",
    "de": "Die Eisenmangelanämie ist die häufigste Form der Blutarmut weltweit. Sie entsteht, wenn der Körper "
          "mehr Eisen verliert, als er mit der Nahrung aufnimmt, zum Beispiel bei starken Regelblutungen, einem "
          "blutenden Magengeschwür oder einer Ernährung ohne Fleisch. Die Patienten klagen über Müdigkeit, "
          "Atemnot bei Belastung, Herzklopfen und brüchige Nägel. Die Diagnose wird mit einem Blutbild und einem "
          "niedrigen Ferritinwert gesichert. Die Behandlung beginnt mit Eisentabletten, die einmal täglich oder "
          "jeden zweiten Tag eingenommen werden, und das Hämoglobin sollte innerhalb von drei Wochen ansteigen. "
          "Werden die Tabletten nicht vertragen, kann der Arzt Eisen als Infusion geben. Die Ursache des "
          "Blutverlusts muss immer gefunden werden, und ab fünfzig Jahren wird eine Darmspiegelung empfohlen.",
    "ar": "فقر الدم الناجم عن نقص الحديد هو أكثر أنواع فقر الدم شيوعا في العالم. ويحدث عندما يفقد الجسم من "
          "الحديد أكثر مما يمتص، كما في حالات الحيض الغزير أو قرحة المعدة النازفة أو النظام الغذائي الفقير "
          "باللحوم. يشكو المرضى من التعب وضيق التنفس عند بذل الجهد وخفقان القلب وهشاشة الأظافر. ويتأكد التشخيص "
          "بتعداد الدم الكامل وانخفاض مستوى الفيريتين في المصل. يبدأ العلاج بأقراص الحديد عن طريق الفم مرة "
          "واحدة يوميا أو كل يومين، ويجب أن يرتفع الهيموغلوبين خلال ثلاثة أسابيع. وإذا لم يتحمل المريض "
          "الأقراص يمكن للطبيب أن يعطي الحديد عن طريق الوريد. ويجب دائما البحث عن سبب فقدان الدم، ويوصى "
          "بإجراء التنظير للمرضى الذين تجاوزوا الخمسين من العمر لاستبعاد سرطان القولون.",
}

# A web page as a bad extractor returns it: navigation, cookie banner, share buttons and footer
# repeated around one short medical sentence.
_NAV = {
    "en": (["Home", "Health A-Z", "Medicines", "Contact us", "Sign in"],
           "We use cookies to improve your experience. Read our privacy policy.",
           "Share on Facebook", "Diabetes is a chronic disease that affects how the body uses glucose.",
           "© 2024 HealthSite. All rights reserved. Terms of use."),
    "zh": (["首页", "疾病百科", "药品查询", "在线问诊", "登录"],
           "本网站使用cookie，继续浏览即表示您同意我们的隐私政策。", "分享到微信",
           "糖尿病是一种影响血糖代谢的慢性疾病。", "版权所有 © 2024 健康网 免责声明"),
    "ja": (["ホーム", "病気辞典", "お薬検索", "お問い合わせ", "ログイン"],
           "当サイトはクッキーを使用しています。プライバシーポリシーをご確認ください。", "シェアする",
           "糖尿病は血糖の代謝に関わる慢性の病気です。", "無断転載を禁じます。利用規約"),
    "fr": (["Accueil", "Maladies", "Médicaments", "Contact", "Se connecter"],
           "Ce site utilise des cookies. Consultez notre politique de confidentialité.", "Partager sur Facebook",
           "Le diabète est une maladie chronique qui touche la glycémie.", "© 2024 SantéSite. Tous droits réservés. Mentions légales"),
    "ru": (["Главная", "Болезни", "Лекарства", "Контакты", "Войти"],
           "Мы используем cookie. Политика конфиденциальности.", "Поделиться",
           "Диабет — хроническое заболевание, при котором повышается глюкоза крови.", "© 2024 Здоровье. Все права защищены."),
    "es": (["Inicio", "Enfermedades", "Medicamentos", "Contacto", "Iniciar sesión"],
           "Usamos cookies. Lea nuestra política de privacidad.", "Compartir en Facebook",
           "La diabetes es una enfermedad crónica que afecta a la glucosa.", "© 2024 SaludWeb. Todos los derechos reservados. Aviso legal"),
    "de": (["Startseite", "Krankheiten", "Medikamente", "Kontakt", "Anmelden"],
           "Wir verwenden Cookies. Mehr in unserer Datenschutzerklärung.", "Teilen auf Facebook",
           "Diabetes ist eine chronische Krankheit des Zuckerstoffwechsels.", "© 2024 GesundSeite. Alle Rechte vorbehalten. Impressum"),
    "ar": (["الرئيسية", "الأمراض", "الأدوية", "اتصل بنا", "تسجيل الدخول"],
           "نستخدم ملفات تعريف الارتباط. اقرأ سياسة الخصوصية.", "شارك على فيسبوك",
           "السكري مرض مزمن يؤثر في مستوى الغلوكوز في الدم.", "© 2024 موقع الصحة. جميع الحقوق محفوظة."),
}


def boilerplate_page(lang: str) -> str:
    nav, banner, share, sentence, footer = _NAV[lang]
    lines = nav + [banner, sentence, share] + nav + [share, footer]
    return "\n".join(lines)


def spam_page(lang: str) -> str:
    """Keyword-stuffed SEO text: the same phrase over and over (caught by the repetition rules)."""
    return "\n".join([PROSE[lang][:60]] + [PROSE[lang][:40]] * 20)


# Personal data inside medical text; every medical number around it must survive scrubbing.
PII_DOCS = {
    "en": ("Discharge summary. Contact Dr. Jane Miller at jane.miller@stmarys-clinic.org or call (212) 555-0187. "
           "Patient SSN 536-22-8187, NHS number 943 476 5919. Records synced from 192.168.10.24 and "
           "ftp://jmiller:Secr3t!@records.stmarys-clinic.org/export. "
           "HbA1c 7.2%, BP 120/80 mmHg, metformin 500 mg twice daily, ICD-10 E11.9, seen on 2024-03-15, "
           "eGFR 45 mL/min/1.73 m2, follow-up 03/29/2024."),
    "fr": ("Compte rendu. Joindre le Dr Martin au 01 42 68 53 00 ou à martin@hopital-exemple.fr. "
           "Numéro de sécurité sociale : 2 84 05 75 112 233 43. "
           "Glycémie à jeun 1,26 g/L, paracétamol 1 g toutes les 6 heures, CIM-10 J18.9, le 15/03/2024."),
    "es": ("Informe. Llame al 912 345 678 o escriba a consulta@clinica-ejemplo.es. DNI 12345678Z. "
           "Ibuprofeno 400 mg cada 8 horas, TA 130/85 mmHg, CIE-10 K29.5, revisión el 15/03/2024."),
    "de": ("Arztbrief. Rückfragen unter +49 30 12345678 oder praxis@beispiel-praxis.de. "
           "Krankenversichertennummer A123456780, Steuer-ID 86 095 742 719. "
           "Ramipril 5 mg morgens, RR 140/90 mmHg, ICD-10 I10.90, Kontrolle am 15.03.2024."),
    "ru": ("Выписка. Телефон отделения +7 495 123-45-67, почта otdel@gkb-primer.ru. СНИЛС 112-233-445 95. "
           "Эналаприл 10 мг 2 раза в день, АД 150/95 мм рт. ст., МКБ-10 I11.9, осмотр 15.03.2024."),
    "zh": ("出院小结。联系电话 13812345678，邮箱 zhangwei@hospital-example.cn，身份证号 11010519491231002X。"
           "二甲双胍 500 mg 每日两次，血压 120/80 mmHg，空腹血糖 7.2 mmol/L，ICD-10 E11.9，复诊日期 2024-03-15。"),
    "ja": ("退院サマリー。連絡先 03-1234-5678、メール tanaka@byoin-example.jp。"
           "アムロジピン 5 mg 1日1回、血圧 130/80 mmHg、HbA1c 6.8%、ICD-10 I10、次回 2024年3月15日。"),
    "ar": ("ملخص الخروج. للتواصل: ‎+966 11 234 5678 أو dr.ahmed@hospital-example.sa. "
           "ميتفورمين 500 mg مرتين يوميا، ضغط الدم 120/80 mmHg، ICD-10 E11.9، المراجعة في 2024-03-15."),
}
# Substrings that scrubbing must leave as they are.
MEDICAL_NUMBERS = {
    "en": ["HbA1c 7.2%", "120/80 mmHg", "500 mg", "E11.9", "2024-03-15", "45 mL/min/1.73 m2", "03/29/2024"],
    "fr": ["1,26 g/L", "1 g toutes les 6 heures", "J18.9", "15/03/2024"],
    "es": ["400 mg cada 8 horas", "130/85 mmHg", "K29.5", "15/03/2024"],
    "de": ["5 mg", "140/90 mmHg", "I10.90", "15.03.2024"],
    "ru": ["10 мг 2 раза", "150/95 мм рт. ст.", "I11.9", "15.03.2024"],
    "zh": ["500 mg", "120/80 mmHg", "7.2 mmol/L", "E11.9", "2024-03-15"],
    "ja": ["5 mg", "130/80 mmHg", "6.8%", "I10", "2024年3月15日"],
    "ar": ["500 mg", "120/80 mmHg", "E11.9", "2024-03-15"],
}

# A small benchmark in the MMedBench layout (questions written for mmedc).
BENCHMARK = [
    {"id": "en-1", "question": "A 58-year-old man with a 30 pack-year smoking history presents with hemoptysis, "
                                "weight loss and a central lung mass with hypercalcemia on laboratory testing. "
                                "Which of the following is the most likely diagnosis?",
     "options": {"A": "Small cell carcinoma", "B": "Squamous cell carcinoma", "C": "Adenocarcinoma",
                 "D": "Carcinoid tumor"}, "answer": "B",
     "rationale": "Hypercalcemia from PTHrP secretion together with a central mass points to squamous cell carcinoma."},
    {"id": "en-2", "question": "A 24-year-old woman presents to the emergency department with fever, neck stiffness "
                                "and a petechial rash on her legs. Which of the following is the most likely diagnosis?",
     "options": {"A": "Meningococcal meningitis", "B": "Viral meningitis"}, "answer": "A", "rationale": ""},
    {"id": "zh-1", "question": "患者男性，六十五岁，突发胸骨后压榨性疼痛两小时，伴大汗，心电图示前壁导联ST段抬高，最可能的诊断是什么？",
     "options": {"A": "急性前壁心肌梗死", "B": "稳定型心绞痛"}, "answer": "A", "rationale": ""},
    {"id": "fr-1", "question": "Une femme de 32 ans consulte pour une fatigue intense, une prise de poids et une "
                                "frilosité depuis six mois, avec une TSH élevée. Quel est le diagnostic le plus probable ?",
     "options": {"A": "Hypothyroïdie", "B": "Hyperthyroïdie"}, "answer": "A", "rationale": ""},
]
