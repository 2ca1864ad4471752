"""Sample documents written for mmedc (original text, no third-party content).

Per language: medical documents (should be kept) and general ones (should be dropped by the medical
filter). The builder adds near-duplicates, an HTML page, a WARC and a PDF with a scanned page.
"""

MEDICAL = {
    "en": [
        ("en-diabetes", "Type 2 diabetes: diagnosis and treatment",
         "Type 2 diabetes is a chronic disease in which the body becomes resistant to insulin and blood glucose "
         "rises. Many patients have no symptoms for years, so screening of adults with obesity or hypertension "
         "is recommended. The diagnosis is made when fasting glucose or hemoglobin A1c is above the threshold on "
         "two tests. First-line treatment combines diet, exercise and metformin; if glucose stays high, the "
         "physician adds a second medication or insulin. Poorly controlled diabetes damages the kidney, the "
         "retina and the nerves, and raises the risk of myocardial infarction and stroke. Patients should have "
         "their blood pressure, cholesterol and creatinine checked every year, and a clinician should examine "
         "their feet for ulcers at every visit."),
        ("en-pneumonia", "Community-acquired pneumonia in adults",
         "Pneumonia is an acute infection of the lungs caused by bacteria or a virus. Typical symptoms are "
         "fever, cough with sputum, chest pain and shortness of breath; older patients may present with "
         "confusion only. The diagnosis rests on clinical examination and a chest x-ray. Most outpatient cases "
         "are treated with an oral antibiotic such as amoxicillin for five days. Hospitalization is needed when "
         "the patient has low oxygen saturation, low blood pressure, or signs of sepsis, and severe cases are "
         "managed in intensive care. Vaccination against influenza and pneumococcus lowers the incidence of "
         "pneumonia and its mortality in people with chronic heart or lung disease."),
        ("en-migraine", "Migraine: symptoms and therapy",
         "Migraine is a neurological disorder marked by recurrent attacks of throbbing headache, often on one "
         "side, with nausea, vomiting and sensitivity to light. Some patients have an aura before the pain. "
         "Acute treatment uses an analgesic or a triptan taken early in the attack; an antiemetic helps with "
         "nausea. When attacks are frequent, the doctor may prescribe preventive therapy such as a beta blocker, "
         "topiramate or an antibody against CGRP. Side effects should be discussed before any medication is "
         "started, and overuse of painkillers can itself cause chronic headache."),
    ],
    "zh": [
        ("zh-hypertension", "高血压的诊断与治疗",
         "高血压是最常见的慢性疾病之一，长期血压升高会损害心脏、肾脏和血管。多数患者早期没有明显症状，"
         "部分病人会出现头痛、头晕和心悸。诊断需要在不同日期多次测量血压，收缩压达到一百四十毫米汞柱"
         "或舒张压达到九十毫米汞柱即可诊断。治疗包括限盐、减重、戒烟和规律运动，必要时医生会开具降压药物。"
         "常用药物有钙通道阻滞剂、血管紧张素转换酶抑制剂和利尿剂。患者应定期复查血压、血糖、胆固醇和肌酐，"
         "以预防脑卒中、心肌梗死和心力衰竭等并发症。"),
        ("zh-flu", "流感的预防与护理",
         "流感是由流感病毒引起的急性呼吸道传染病，主要症状为高热、咳嗽、咽痛、乏力和肌肉疼痛。"
         "儿童、孕妇、老年人和患有慢性疾病的人群容易出现肺炎等并发症。接种流感疫苗是预防感染最有效的方法。"
         "发病后应尽早就医，医生可根据病情在四十八小时内给予抗病毒药物治疗。轻症患者在家护理，"
         "注意休息、多饮水、监测体温；如出现呼吸困难、持续高热或意识改变，应立即到医院急诊就诊。"),
        ("zh-gastritis", "慢性胃炎患者的用药指导",
         "慢性胃炎是胃黏膜的慢性炎症，幽门螺杆菌感染是主要病因。患者常有上腹部疼痛、腹胀、恶心和食欲下降。"
         "诊断主要依靠胃镜检查和病理活检，同时进行幽门螺杆菌检测。幽门螺杆菌阳性的患者需要接受根除治疗，"
         "疗程通常为十四天，药物包括质子泵抑制剂和两种抗生素。服药期间可能出现腹泻等不良反应，"
         "应按处方足量服用，疗程结束后复查。"),
    ],
    "ja": [
        ("ja-asthma", "気管支喘息の治療",
         "気管支喘息は気道の慢性炎症を特徴とする疾患で、発作的な咳、喘鳴、呼吸困難などの症状が現れる。"
         "診断には問診に加えて呼吸機能検査が用いられる。治療の基本は吸入ステロイド薬による長期管理であり、"
         "発作時には短時間作用性の気管支拡張薬を使用する。アレルギーの原因となる物質を避けることも重要である。"
         "症状が悪化した患者は救急外来を受診し、重症の場合は入院して酸素投与や点滴治療を受ける。"
         "医師の指示どおりに服薬を続けることが発作の予防につながる。"),
        ("ja-stroke", "脳卒中の症状と初期対応",
         "脳卒中は脳の血管が詰まる脳梗塞と、血管が破れる脳出血に大きく分けられる。"
         "顔のゆがみ、片側の手足の麻痺、言葉のもつれなどの症状が突然現れた場合は、すぐに救急車を呼ぶ必要がある。"
         "病院では頭部の画像検査で診断を確定し、脳梗塞であれば発症から短時間のうちに血栓を溶かす治療を行う。"
         "高血圧、糖尿病、不整脈は脳卒中の危険因子であり、日頃の血圧管理と服薬が再発の予防に重要である。"),
        ("ja-anemia", "鉄欠乏性貧血について",
         "鉄欠乏性貧血は血液中のヘモグロビンが減少する疾患で、倦怠感、動悸、めまいなどの症状を起こす。"
         "月経の多い女性や妊婦、消化管から出血している患者に多くみられる。"
         "診断は血液検査でヘモグロビンと血清フェリチンを測定して行う。治療は鉄剤の内服が中心で、"
         "副作用として吐き気や便秘が出ることがある。原因となる出血があれば、その治療も必要である。"),
    ],
    "fr": [
        ("fr-grippe", "La grippe saisonnière",
         "La grippe est une infection respiratoire aiguë due au virus influenza. Les symptômes apparaissent "
         "brutalement : fièvre élevée, toux sèche, douleurs musculaires, céphalées et grande fatigue. "
         "Le diagnostic est le plus souvent clinique pendant une épidémie. Le traitement repose sur le repos, "
         "l'hydratation et le paracétamol contre la fièvre ; un antiviral peut être prescrit par le médecin aux "
         "patients à risque. Les complications, comme la pneumonie bactérienne, touchent surtout les personnes "
         "âgées, les femmes enceintes et les malades atteints de maladies chroniques. La vaccination annuelle "
         "reste la meilleure prévention et réduit la mortalité et les hospitalisations."),
        ("fr-diabete", "Le diabète de type 1",
         "Le diabète de type 1 est une maladie auto-immune qui détruit les cellules du pancréas produisant "
         "l'insuline. Il apparaît souvent chez l'enfant ou l'adulte jeune avec une soif intense, des urines "
         "abondantes et un amaigrissement. Le diagnostic repose sur la glycémie et la recherche d'anticorps. "
         "Le traitement associe des injections d'insuline plusieurs fois par jour, la surveillance de la "
         "glycémie et une éducation thérapeutique. Une hypoglycémie sévère est une urgence médicale ; à long "
         "terme, un bon équilibre limite les lésions des reins, des yeux et des nerfs."),
        ("fr-asthme", "L'asthme de l'enfant",
         "L'asthme est une maladie inflammatoire chronique des bronches. Chez l'enfant, il se manifeste par une "
         "toux nocturne, une respiration sifflante et des crises d'essoufflement, souvent déclenchées par une "
         "infection virale ou une allergie. Le médecin confirme le diagnostic par l'examen clinique et, après six "
         "ans, par des épreuves respiratoires. Le traitement de fond utilise des corticoïdes inhalés ; les crises "
         "sont traitées par un bronchodilatateur. En cas de crise grave, il faut appeler les urgences."),
    ],
    "ru": [
        ("ru-hypertension", "Артериальная гипертензия",
         "Артериальная гипертензия — хроническое заболевание, при котором артериальное давление стойко повышено. "
         "Многие пациенты долго не замечают симптомов, поэтому врачи рекомендуют регулярно измерять давление. "
         "Диагноз ставят после нескольких измерений в разные дни. Лечение включает ограничение соли, снижение "
         "веса, отказ от курения и приём препаратов: ингибиторов АПФ, блокаторов кальциевых каналов или диуретиков. "
         "Без лечения гипертония повреждает сердце, почки и сосуды мозга и повышает риск инсульта и инфаркта миокарда. "
         "Пациенту необходимо контролировать уровень холестерина и глюкозы крови."),
        ("ru-angina", "Острый тонзиллит у детей",
         "Острый тонзиллит, или ангина, — инфекционное воспаление нёбных миндалин. Заболевание вызывают вирусы "
         "или бактерии, чаще всего стрептококк. Симптомы: боль в горле, высокая температура, слабость, увеличение "
         "лимфатических узлов. Врач осматривает горло и при необходимости назначает экспресс-тест на стрептококк. "
         "При бактериальной инфекции лечение проводят антибиотиками в течение десяти дней; при вирусной "
         "антибиотики не нужны. Больному ребёнку следует пить больше жидкости и соблюдать постельный режим."),
        ("ru-pneumonia", "Пневмония: диагностика и лечение",
         "Пневмония — острое инфекционное заболевание лёгких. У пациента появляются лихорадка, кашель, одышка и "
         "боль в груди. Для диагностики врач назначает рентген грудной клетки и анализ крови. Лечение пневмонии "
         "начинают с антибиотиков; тяжёлых больных госпитализируют, а при дыхательной недостаточности переводят в "
         "реанимацию. Вакцинация против гриппа и пневмококка снижает заболеваемость и смертность у пожилых людей."),
    ],
    "es": [
        ("es-hepatitis", "Hepatitis B: prevención y tratamiento",
         "La hepatitis B es una infección del hígado causada por un virus que se transmite por la sangre, por vía "
         "sexual y de madre a hijo durante el embarazo. Muchos pacientes no tienen síntomas; otros presentan "
         "fatiga, náuseas, dolor abdominal e ictericia. El diagnóstico se hace con análisis de sangre que detectan "
         "el antígeno del virus y los anticuerpos. La forma crónica puede causar cirrosis y cáncer de hígado, "
         "por lo que el médico indica tratamiento antiviral y controles periódicos. La vacuna es segura y eficaz, "
         "y se aplica a todos los recién nacidos."),
        ("es-gastro", "Gastroenteritis aguda en niños",
         "La gastroenteritis aguda es una inflamación del intestino, casi siempre de origen viral, que provoca "
         "diarrea, vómitos, fiebre y dolor abdominal. El principal riesgo en los niños es la deshidratación. "
         "El tratamiento consiste en soluciones de rehidratación oral en pequeñas cantidades y frecuentes; los "
         "antibióticos no están indicados en la mayoría de los casos. Hay que acudir a urgencias si el paciente "
         "tiene sangre en las heces, vómitos persistentes o signos de deshidratación grave."),
        ("es-depresion", "La depresión en adultos",
         "La depresión es un trastorno mental frecuente que se caracteriza por tristeza persistente, pérdida de "
         "interés, alteraciones del sueño, fatiga y sentimientos de culpa. El diagnóstico lo realiza un médico o un "
         "psiquiatra mediante una entrevista clínica. El tratamiento combina psicoterapia y, en los casos moderados "
         "o graves, fármacos antidepresivos, cuyos efectos secundarios deben vigilarse. Si el paciente tiene ideas "
         "de suicidio, se necesita atención urgente."),
    ],
}

GENERAL = {
    "en": [("en-garden", "Planning a vegetable garden",
            "A small vegetable garden needs six hours of sun, loose soil and a tap within reach. Start with easy "
            "crops such as lettuce, beans and courgettes, and sow them in short rows every two weeks so the "
            "harvest does not arrive all at once. Mulch keeps the soil moist and the weeds down, and a notebook "
            "of what grew where helps you rotate the beds next spring."),
           ("en-train", "A night train across the Alps",
            "The night train leaves the station just after nine. By the time the dining car closes, the lights "
            "of the last towns have gone and the line climbs into the mountains. Passengers in the sleeping "
            "compartments wake to snow on the peaks and coffee served in paper cups, and reach the coast before "
            "the shops open.")],
    "zh": [("zh-tea", "家乡的茶园",
            "每年春天，山坡上的茶园都会长出嫩绿的新芽。清晨，采茶的人背着竹篮走进雾里，手指飞快地摘下一芽一叶。"
            "茶叶经过摊晾、杀青和揉捻，晚上就能喝到新茶。村里的老人说，好茶要用山泉水来泡，味道才会清甜。")],
    "ja": [("ja-travel", "京都の秋",
            "秋の京都は紅葉を見に来た観光客でにぎわう。朝早く寺を訪れると、まだ人が少なく、静かな庭をゆっくり眺める"
            "ことができる。昼は川沿いを散歩し、夕方には小さな店で湯豆腐を味わうのがおすすめだ。")],
    "fr": [("fr-cuisine", "La tarte aux pommes",
            "Pour une tarte aux pommes, étalez une pâte brisée dans un moule, piquez le fond avec une fourchette "
            "et disposez des lamelles de pommes en rosace. Saupoudrez de sucre, ajoutez quelques noisettes de "
            "beurre et faites cuire quarante minutes. Servez tiède avec une boule de glace à la vanille.")],
    "ru": [("ru-city", "Прогулка по Петербургу",
            "Летом в Петербурге белые ночи: солнце почти не заходит, и город гуляет до утра. Лучше всего начать "
            "прогулку с Невского проспекта, потом выйти к Неве и посмотреть, как разводят мосты. Утром можно "
            "выпить кофе в маленьком кафе у канала.")],
    "es": [("es-futbol", "Crónica del partido",
            "El equipo local ganó el partido del domingo por dos goles a uno. El primer tiempo fue igualado, pero "
            "en la segunda parte el delantero marcó de cabeza tras un córner y, a cinco minutos del final, un "
            "disparo desde fuera del área decidió el encuentro ante una afición entusiasmada.")],
}


# Short exam-style questions (written for mmedc): kept by the medical filter, and by quality only
# because their source lowers Gopher's 50-word minimum ([sources.quality] min_words in sample.toml).
EXAMS = {
    "en": [("en-exam-metformin", "A 58-year-old man with type 2 diabetes has a creatinine of 2.1 mg/dL. Which oral "
            "antidiabetic drug should be stopped? Answer: metformin, because of the risk of lactic acidosis.")],
    "fr": [("fr-exam-pneumonie", "Une patiente de 30 ans a de la fièvre, une toux et une douleur thoracique. Quel "
            "examen confirme le diagnostic de pneumonie ? Réponse : la radiographie du thorax.")],
    "es": [("es-exam-hipertension", "Un paciente de 45 años con hipertensión arterial tiene cefalea intensa y una "
            "presión de 210/120 mmHg. ¿Cuál es el tratamiento inicial? Respuesta: un antihipertensivo intravenoso "
            "con control en cuidados intensivos.")],
}
